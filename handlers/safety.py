"""When a message suggests danger: help at once, the questions paused, the counselor told.

The bot is not watched in real time and is not an emergency service. At any point (an
answer, a message between question sets, before consent) a message that matches a crisis
phrase (prompts/safety.yaml, matched by bot/safety.py) gets the help contacts in the
student's language and an honest word on what happens next. The open question set pauses
(no next question, no reminder, no summary quoting the words) until the student sends
/resume or the counselor logs a new session. The counselor gets an alert at once, in the
counselor's language, naming the student and never quoting them; the digest marks the
student urgent. Only a message that answers an open question is kept (marked urgent).

Telling the counselor before consent is deliberate: it carries no words, only that the
student may be in danger, which APPI allows without consent when needed to protect a
person's life (Art. 18(3)(ii) and 27(1)(ii)).
"""

from __future__ import annotations

import logging

from bot.db.models import Student
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Recipient, Reply
from handlers import reflection

log = logging.getLogger(__name__)

CRISIS = "crisis"  # students.pause_reason


def is_crisis(ctx: Context, text: str) -> bool:
    """True when the text matches a crisis phrase of any language."""
    return ctx.prompts.safety.match(text) is not None


def is_paused_by_crisis(student: Student | None) -> bool:
    return student is not None and student.pause_reason == CRISIS


def help_replies(
    ctx: Context, *, counselor_told: bool = False, told_later: bool = False, paused: bool = False
) -> list[Reply]:
    """The help contacts in the reader's language, and what happens next."""
    t = ctx.t
    lines = [
        t._(
            "Thank you for telling me. I am a bot and I am not watched in real time, "
            "so I cannot help in an emergency. If you are in danger or thinking about "
            "hurting yourself, please contact someone now:"
        ),
    ]
    for contact in ctx.prompts.safety.contacts:
        name, hours = contact.text("name", t), contact.text("hours", t)
        # TRANSLATORS: a help contact; use your language's punctuation (ja, zh: "：" and "（）")
        line = t._("{name}: {phone} ({hours})", name=name, phone=contact.phone, hours=hours)
        lines.append(f"• {line}")
        if contact.note:
            lines.append(f"  {contact.text('note', t)}")
    if counselor_told:
        lines.append(
            t._(
                "I have let your counselor know that you may need help. Your counselor does "
                "not read this chat in real time and may answer later, so the contacts above "
                "are the fastest way to talk to someone now."
            )
        )
    elif told_later:
        lines.append(
            t._(
                "Your counselor will see that you may need help the next time they read "
                "their summary, which may take a few days. The contacts above are the "
                "fastest way to talk to someone now."
            )
        )
    if paused:
        lines.append(
            t._("I will not send you more questions for now. When you want to go on, send /resume.")
        )
    return [Reply(text="\n".join(lines))]


async def crisis(event: Inbound, ctx: Context) -> list[Reply]:
    """Show help, pause the open set, alert the counselor; keep the words only as an answer."""
    student = ctx.student
    assert student is not None
    if event.kind is Kind.EDIT:
        answer = await ctx.uow.answers.by_message(student.id, event.channel, event.message_id)
        if answer is not None:
            answer.text, answer.edited_at = event.text, ctx.now
            if answer.urgent:
                return []  # this answer already brought help and an alert
            answer.urgent = True
            return await _respond(ctx, student, kept="answer")
    consented = student.has_consented
    kept = "none" if not consented else "message"
    if consented and event.kind is Kind.TEXT:
        run = await ctx.uow.runs.active_of(student.id)
        if run is not None:
            await reflection.keep_answer(ctx, run, event, text=event.text, urgent=True)
            kept = "answer"
    return await _respond(ctx, student, kept=kept)


async def _respond(ctx: Context, student: Student, *, kept: str) -> list[Reply]:
    consented = student.has_consented
    student.crisis_at = ctx.now
    if consented:
        await pause(ctx, student)
    alert, chat = await alert_counselor(ctx, student, kept=kept)
    help_ = help_replies(ctx, counselor_told=chat, told_later=not chat, paused=consented)
    return [*help_, *alert]


async def pause(ctx: Context, student: Student) -> None:
    """Hold the student's questions: nothing more is asked or reminded until they resume."""
    student.pause_reason = CRISIS
    await ctx.uow.outbox.cancel_for_runs([run.id for run in await ctx.uow.runs.open_of(student.id)])


async def alert_counselor(ctx: Context, student: Student, *, kept: str) -> tuple[list[Reply], bool]:
    """A message to the student's counselor at once, without the student's words.

    `kept`: "answer" (kept as an answer), "message" (not kept: no question was open) or
    "none" (not kept: no consent). Returns the alert and whether the counselor has a chat
    to receive it (if not, the digest and its push are all they get)."""
    counselor = await ctx.uow.counselors.get(student.counselor_id)
    if counselor is None:
        return [], False
    t = ctx.tr(counselor.locale)
    name = student.label or f"#{student.id}"
    await ctx.uow.audit.record(
        at=ctx.now,
        actor="system",
        action="safety.alert",
        subject=f"student:{student.id}",
        counselor=counselor.id,
        answer_kept=kept == "answer",
    )
    has_chat = bool(await ctx.uow.accounts.of_counselor(counselor.id))
    if not has_chat:
        log.warning("safety.alert_without_chat", extra={"counselor": counselor.id})
    if kept == "answer":
        text = t._(
            "Urgent: an answer from {student} may mean they are in danger. They were shown "
            "the help contacts. Their questions are paused until they send /resume or you "
            "log a new session. Please read the answer with /digest and reach out.",
            student=name,
        )
    elif kept == "message":
        text = t._(
            "Urgent: a message from {student} may mean they are in danger. They were shown "
            "the help contacts. Their questions are paused until they send /resume or you "
            "log a new session. No question was open, so their message was not kept. "
            "Please reach out to them.",
            student=name,
        )
    else:
        text = t._(
            "Urgent: a message from {student} may mean they are in danger. They were shown "
            "the help contacts. They have not given their consent, so their message was "
            "not kept. Please reach out to them.",
            student=name,
        )
    to = Recipient("counselor", counselor.id)
    alert = Reply(text=text, to=to, concerns=frozenset({student.id}))  # /forget drops it unsent
    return [alert], has_chat


def while_paused(event: Inbound, ctx: Context) -> list[Reply]:
    """An answer sent while the questions are paused after a crisis: not kept, say how on."""
    t = ctx.t
    if event.kind is Kind.TEXT:
        return [
            Reply(
                text=t._(
                    "Your questions are paused, so I did not keep this message. If you need "
                    "someone now, please use the help contacts I sent. When you want to go on "
                    "with the questions, send /resume."
                )
            )
        ]
    return [Reply(text=t._("Your questions are paused. When you want to go on, send /resume."))]
