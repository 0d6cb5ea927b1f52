"""Joining: invite and link codes, the language, and consent before anything is kept."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from bot.codes import looks_like_code
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Button, Reply
from bot.i18n import SHIPPED_LOCALES, display_name, negotiate
from handlers import followups, safety, student
from handlers.common import counselor_help, how_to_join, language_picker

log = logging.getLogger(__name__)

LEGACY_CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # codes issued before short ones


async def stranger(event: Inbound, ctx: Context) -> list[Reply]:
    """Greet someone we do not know yet, and let a valid code in."""
    ctx.locale = negotiate(event.locale_hint) or ctx.settings.default_locale
    code = ""
    if event.kind is Kind.COMMAND and event.command == "start":
        code = event.args.strip()  # "K7QMZ-3XHPW", or typed "k7qmz 3xhpw"
    elif event.kind is Kind.TEXT and (
        looks_like_code(event.text) or LEGACY_CODE_SHAPE.match(event.text.strip())
    ):
        code = event.text.strip()
    if event.kind is Kind.UNFOLLOW:
        return []
    if not code:
        crisis = event.kind is Kind.TEXT and safety.is_crisis(ctx, event.text)
        return [
            *(safety.help_replies(ctx, counselor_told=False) if crisis else []),
            how_to_join(ctx),
        ]
    redeemed = await ctx.uow.codes.redeem(code, now=ctx.now)
    if redeemed is None:
        log.info("code.refused", extra={"channel": event.channel})
        return [
            Reply(
                text=ctx.t._(
                    "This code is not valid. It may have expired or been used already. "
                    "Please ask your counselor for a new one."
                )
            )
        ]
    log.info(
        "code.redeemed",
        extra={"channel": event.channel, "kind": redeemed.kind, "counselor": redeemed.counselor_id},
    )
    # The name moves to the student's profile; a used code keeps no trace of whom it was for.
    label, redeemed.label = redeemed.label, ""
    if redeemed.kind == "link":
        return await _link_counselor(event, ctx, redeemed.counselor_id)
    return await _enroll_student(event, ctx, redeemed.counselor_id, label)


async def _link_counselor(event: Inbound, ctx: Context, counselor_id: int) -> list[Reply]:
    counselor = await ctx.uow.counselors.get(counselor_id)
    if counselor is None:
        return [how_to_join(ctx)]
    await ctx.uow.accounts.add(
        channel=event.channel,
        external_id=event.user_id,
        chat_id=event.chat_id,
        counselor_id=counselor.id,
        now=ctx.now,
    )
    ctx.counselor, ctx.locale = counselor, counselor.locale
    await ctx.uow.audit.record(
        at=ctx.now, actor=ctx.actor, action="counselor.linked", channel=event.channel
    )
    welcome = Reply(text=ctx.t._("Your chat account is now linked, {name}.", name=counselor.name))
    return [welcome, counselor_help(ctx)]


async def _enroll_student(
    event: Inbound, ctx: Context, counselor_id: int, label: str
) -> list[Reply]:
    guessed = negotiate(event.locale_hint)
    student = await ctx.uow.students.add(
        counselor_id=counselor_id,
        label=label,
        locale=guessed or ctx.settings.default_locale,
        timezone=ctx.settings.timezone,
        now=ctx.now,
    )
    account = await ctx.uow.accounts.add(
        channel=event.channel,
        external_id=event.user_id,
        chat_id=event.chat_id,
        student_id=student.id,
        now=ctx.now,
    )
    ctx.student, ctx.account, ctx.locale = student, account, student.locale
    if guessed is None:
        return [language_picker(ctx, preselected=ctx.settings.default_locale)]
    return [
        Reply(
            text=ctx.t._(
                "Hello! I will write to you in {language}.", language=display_name(guessed)
            ),
            buttons=(
                # TRANSLATORS: button label, at most 20 characters
                Button(ctx.t._("Continue"), f"lang:{guessed}"),
                # TRANSLATORS: button label, at most 20 characters
                Button(ctx.t._("Other language"), "lang:menu"),
            ),
            columns=2,
        )
    ]


async def choose_language(event: Inbound, ctx: Context) -> list[Reply]:
    """Set the student's language from a picker button, then continue where they were."""
    assert ctx.student is not None
    choice = event.data.split(":", 1)[1] if ":" in event.data else ""
    if choice not in SHIPPED_LOCALES:
        return [language_picker(ctx, preselected=ctx.student.locale)]
    ctx.student.locale = ctx.locale = choice
    if ctx.student.consent != "given":
        return [await consent_request(ctx)]
    return [
        Reply(text=ctx.t._("I will write to you in {language}.", language=display_name(choice)))
    ]


async def language_command(event: Inbound, ctx: Context) -> list[Reply]:
    """Show the language picker."""
    current = ctx.student.locale if ctx.student else ctx.locale
    return [language_picker(ctx, preselected=current)]


async def consent_request(ctx: Context) -> Reply:
    assert ctx.student is not None
    counselor = await ctx.uow.counselors.get(ctx.student.counselor_id)
    return Reply(
        text=consent_text(ctx, counselor.name if counselor else ""),
        # TRANSLATORS: button label, at most 20 characters
        buttons=(
            Button(ctx.t._("I agree"), "consent:yes"),
            Button(ctx.t._("No, thanks"), "consent:no"),
        ),
        columns=2,
    )


def consent_points(ctx: Context, counselor_name: str) -> list[str]:
    """What is kept, who reads it, for how long, how to delete it, and what the bot is not."""
    t = ctx.t
    return [
        t._("• What is kept: your answers to my questions, and when you sent them."),
        t._("• Who reads them: only your counselor, {name}.", name=counselor_name),
        t._(
            "• How long: {days} days at most; then they are deleted.",
            days=ctx.settings.retention_days,
        ),
        t._(
            "• You can read them (/journal), get a copy (/mydata) or delete everything "
            "(/forget) at any time."
        ),
        t._("• I am not watched in real time and I am not an emergency service."),
    ]


def consent_text(ctx: Context, counselor_name: str) -> str:
    t = ctx.t
    return "\n".join(
        [
            t._("Before we start, please read this."),
            *consent_points(ctx, counselor_name),
            "",
            t._("Do you agree?"),
        ]
    )


async def consent_answer(event: Inbound, ctx: Context) -> list[Reply]:
    """Record yes, no or a withdrawal ("consent:withdraw"); nothing is kept before a yes."""
    assert ctx.student is not None
    student = ctx.student
    choice = event.data.partition(":")[2]
    if choice == "yes":
        if student.consent == "given":
            return [Reply(text=ctx.t._("You have already agreed. /help shows what I can do."))]
        student.consent = "given"
        student.consented_at = ctx.now
        student.status = "active"
        await ctx.uow.audit.record(
            at=ctx.now, actor=ctx.actor, action="consent.given", subject=f"student:{student.id}"
        )
        thanks = Reply(
            text=ctx.t._(
                "Thank you! After each session with your counselor I will send you a few "
                "questions. /help shows what else I can do."
            )
        )
        return [thanks, *await followups.start_due_for(ctx, student)]
    if student.consent == "given":
        # "Withdraw consent" from /privacy, or "No, thanks" pressed on an old consent message.
        return await withdraw_consent(ctx)
    if choice == "withdraw":
        return [
            Reply(
                text=ctx.t._(
                    "You have not given your consent, so I keep none of your answers. "
                    "To read the consent question again, send /start."
                )
            )
        ]
    student.consent = "declined"
    await ctx.uow.audit.record(
        at=ctx.now, actor=ctx.actor, action="consent.declined", subject=f"student:{student.id}"
    )
    return [
        Reply(
            text=ctx.t._(
                "All right. I keep nothing of yours. If you change your mind, send /start."
            )
        )
    ]


async def withdraw_consent(ctx: Context) -> list[Reply]:
    """Stop every question and message, keep nothing new, and offer to delete the rest."""
    assert ctx.student is not None
    student = ctx.student
    student.consent = "withdrawn"
    cancelled = await ctx.uow.runs.cancel_open(student.id, ctx.now)
    await ctx.uow.outbox.cancel_for_runs(cancelled)
    for account in await ctx.uow.accounts.of_student(student.id):
        await ctx.uow.outbox.cancel_for_chat(account.channel, account.chat_id, "consent withdrawn")
    await ctx.uow.audit.record(
        at=ctx.now, actor=ctx.actor, action="consent.withdrawn", subject=f"student:{student.id}"
    )
    t = ctx.t
    return [
        Reply(
            text=t._(
                "Your consent is withdrawn. I will not send you any more questions or "
                "reminders, and I keep nothing new that you write. The answers you gave so "
                "far stay with your counselor until you delete them. Delete them now? "
                "(To agree again later, send /start.)"
            ),
            buttons=(
                # TRANSLATORS: button label, at most 20 characters
                Button(t._("Delete everything"), "forget:yes"),
                # TRANSLATORS: button label, at most 20 characters
                Button(t._("Keep them"), "forget:no"),
            ),
            columns=2,
        )
    ]


async def restart(event: Inbound, ctx: Context) -> list[Reply]:
    """/start from a known student: ask for consent again, or resume after /stop."""
    assert ctx.student is not None
    if ctx.student.consent != "given":
        return [await consent_request(ctx)]
    if ctx.student.status == "stopped":
        return await student.resume(event, ctx)  # as /resume: the open question comes again
    return [Reply(text=ctx.t._("You are already connected. /help shows what I can do."))]


async def counselor_start(event: Inbound, ctx: Context) -> list[Reply]:
    """/start from a linked counselor: the command list."""
    return [counselor_help(ctx)]


def invite_ttl(ctx: Context) -> timedelta:
    return timedelta(days=ctx.settings.code_ttl_days)
