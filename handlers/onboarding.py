"""Joining: invite and link codes, the language, and consent before anything is kept."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from datetime import timedelta

from bot.codes import looks_like_code
from bot.db.states import CodeKind, Consent, StudentStatus
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Reply
from bot.i18n import negotiate
from bot.translate.build import service_name
from handlers import followups, safety, student
from handlers.buttons import ConsentButton, ForgetButton, LanguageButton
from handlers.common import counselor_help, how_to_join, language_picker

log = logging.getLogger(__name__)

LEGACY_CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # codes issued before short ones
# Wrong codes a chat may send before it has to wait: guessing a code stays hopeless.
CODE_ATTEMPTS = 5
CODE_WINDOW = timedelta(minutes=10)


def looks_like_a_code(text: str) -> bool:
    """Whether typed text is meant as an invite or link code (short, or an older long one)."""
    return looks_like_code(text) or bool(LEGACY_CODE_SHAPE.match(text.strip()))


def screen_before_consent(event: Inbound, ctx: Context) -> Inbound:
    """Keep of a message from someone who has not consented only what answering it needs.

    A code (to join) and a cry for help (to show the help contacts) are stored until the
    event is handled, then wiped from the database files; any other words are never stored.
    """
    if event.kind is Kind.TEXT:
        if looks_like_a_code(event.text) or safety.is_crisis(ctx, event.text):
            return event
        return dataclasses.replace(event, text="")
    if event.kind is Kind.COMMAND:
        keep = event.command == "start" or safety.is_crisis(ctx, event.args)
        return dataclasses.replace(event, text="", args=event.args if keep else "")
    return dataclasses.replace(event, text="")  # an edit, before consent, changes nothing


async def stranger(event: Inbound, ctx: Context) -> list[Reply]:
    """Greet someone we do not know yet, and let a valid code in."""
    ctx.locale = negotiate(event.locale_hint) or ctx.settings.default_locale
    code = ""
    if event.kind is Kind.COMMAND and event.command == "start":
        code = event.args.strip()  # "K7QMZ-3XHPW", or typed "k7qmz 3xhpw"
    elif event.kind is Kind.TEXT and looks_like_a_code(event.text):
        code = event.text.strip()
    if event.kind is Kind.UNFOLLOW:
        return []
    if not code:
        crisis = event.kind is Kind.TEXT and safety.is_crisis(ctx, event.text)
        return [
            *(safety.help_replies(ctx, counselor_told=False) if crisis else []),
            how_to_join(ctx),
        ]
    if wait := await _code_wait(event, ctx):
        log.info("code.throttled", extra={"channel": event.channel})
        minutes = math.ceil(wait.total_seconds() / 60)
        return [
            Reply(
                text=ctx.t.ngettext(
                    "Too many wrong codes were sent from this chat. Please wait {n} minute, "
                    "then try again. If your code does not work, ask your counselor for a "
                    "new one.",
                    "Too many wrong codes were sent from this chat. Please wait {n} minutes, "
                    "then try again. If your code does not work, ask your counselor for a "
                    "new one.",
                    minutes,
                )
            )
        ]
    redeemed = await ctx.uow.codes.redeem(code, now=ctx.now)
    if redeemed is None:
        log.info("code.refused", extra={"channel": event.channel})
        await ctx.uow.code_attempts.add(event.channel, event.chat_id, now=ctx.now)
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
    if redeemed.kind == CodeKind.LINK:
        return await _link_counselor(event, ctx, redeemed.counselor_id)
    return await _enroll_student(event, ctx, redeemed.counselor_id, label)


async def _code_wait(event: Inbound, ctx: Context) -> timedelta | None:
    """How long this chat must wait before its next code is tried (None: not at all)."""
    since = ctx.now - CODE_WINDOW
    await ctx.uow.code_attempts.delete_before(since)  # attempts that no longer count
    wrong = await ctx.uow.code_attempts.recent(event.channel, event.chat_id, since=since)
    if len(wrong) < CODE_ATTEMPTS:
        return None
    return wrong[len(wrong) - CODE_ATTEMPTS] + CODE_WINDOW - ctx.now


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
            # TRANSLATORS: name your own language as it reads inside a sentence
            # (vi: "bằng tiếng Việt", zh_Hans: "用简体中文"), not as a list entry.
            text=ctx.t._("Hello! I will write to you in English."),
            buttons=(
                # TRANSLATORS: button label, at most 20 characters
                LanguageButton(guessed).button(ctx.t._("Continue")),
                # TRANSLATORS: button label, at most 20 characters
                LanguageButton(LanguageButton.MENU).button(ctx.t._("Other language")),
            ),
            columns=2,
        )
    ]


async def choose_language(choice: LanguageButton, event: Inbound, ctx: Context) -> list[Reply]:
    """Set the student's language from a picker button, then continue where they were."""
    assert ctx.student is not None
    if choice.locale == LanguageButton.MENU:
        return [language_picker(ctx, preselected=ctx.student.locale)]
    ctx.student.locale = ctx.locale = choice.locale
    if not ctx.student.has_consented:
        return [await consent_request(ctx)]
    # TRANSLATORS: name your own language as it reads inside a sentence
    # (vi: "bằng tiếng Việt", zh_Hans: "用简体中文"), not as a list entry.
    return [Reply(text=ctx.t._("I will write to you in English."))]


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
            ConsentButton("yes").button(ctx.t._("I agree")),
            ConsentButton("no").button(ctx.t._("No, thanks")),
        ),
        columns=2,
    )


def consent_points(ctx: Context, counselor_name: str) -> list[str]:
    """Why answers are kept, that taking part is a choice, what is kept, who reads it, when
    the counselor is alerted, for how long, how to read, copy and delete it, and what the
    bot is not. One string each, so a deployment's note can be added as one more."""
    t = ctx.t
    points = [
        t._(
            "Why I keep your answers: so that you can look back on your counseling, and "
            "your counselor can read them and support you better."
        ),
        t._("• Taking part is your choice. If you say no, your counseling stays the same."),
        t._(
            "• What I keep: your answers and when you sent them; the name your counselor "
            "gave you; your language and time zone; your chat account; the dates and topics "
            "of your sessions (your counselor writes them down)."
        ),
        t._(
            "• Who can read it: your counselor, {name}, and the administrators who run this bot.",
            name=counselor_name,
        ),
        t._("• If a message sounds like you may be in danger, I tell your counselor at once."),
        t._(
            "• How long: I delete each answer {days} days after you send it. I keep the "
            "rest until you delete it.",
            days=ctx.settings.retention_days,
        ),
        t._(
            "• At any time you can read your answers (/journal), get a copy (/mydata) or "
            "delete everything (/forget)."
        ),
        t._("• I am not watched in real time and I am not an emergency service."),
    ]
    if service := service_name(ctx.settings):  # a translator sees the answers too
        points.append(
            t._(
                "• To help your counselor read your answers, I also send them to {service} "
                "for machine translation.",
                service=service,
            )
        )
    return points


def consent_text(ctx: Context, counselor_name: str) -> str:
    """The consent question: separate paragraphs, so one can be added without touching the
    others."""
    t = ctx.t
    paragraphs = [
        t._("Before we start, please read this."),
        *consent_points(ctx, counselor_name),
        "",
        t._("Do you agree?"),
    ]
    return "\n".join(paragraphs)


async def consent_answer(choice: ConsentButton, event: Inbound, ctx: Context) -> list[Reply]:
    """Record yes, no or a withdrawal ("consent:withdraw"); nothing is kept before a yes."""
    assert ctx.student is not None
    student = ctx.student
    if choice.answer == "yes":
        if student.has_consented:
            return [Reply(text=ctx.t._("You have already agreed. /help shows what I can do."))]
        student.consent = Consent.GIVEN
        student.consented_at = ctx.now
        student.status = StudentStatus.ACTIVE
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
    if student.has_consented:
        # "Withdraw consent" from /privacy, or "No, thanks" pressed on an old consent message.
        return await withdraw_consent(ctx)
    if choice.answer == "withdraw":
        return [
            Reply(
                text=ctx.t._(
                    "You have not given your consent, so I keep none of your answers. "
                    "To read the consent question again, send /start."
                )
            )
        ]
    student.consent = Consent.DECLINED
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
    student.consent = Consent.WITHDRAWN
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
                "far stay with your counselor for up to {days} days. Delete them now? "
                "(To agree again later, send /start.)",
                days=ctx.settings.retention_days,
            ),
            buttons=(
                # TRANSLATORS: button label, at most 20 characters
                ForgetButton(confirmed=True).button(t._("Delete everything")),
                # TRANSLATORS: button label, at most 20 characters
                ForgetButton(confirmed=False).button(t._("Keep them")),
            ),
            columns=2,
        )
    ]


async def restart(event: Inbound, ctx: Context) -> list[Reply]:
    """/start from a known student: ask for consent again, or resume after /stop."""
    assert ctx.student is not None
    if not ctx.student.has_consented:
        return [await consent_request(ctx)]
    if ctx.student.status == StudentStatus.STOPPED:
        return await student.resume(event, ctx)  # as /resume: the open question comes again
    return [Reply(text=ctx.t._("You are already connected. /help shows what I can do."))]


async def counselor_start(event: Inbound, ctx: Context) -> list[Reply]:
    """/start from a linked counselor: the command list."""
    return [counselor_help(ctx)]
