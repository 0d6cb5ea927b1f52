"""When a message suggests danger: help contacts for the student, an alert for the counselor.

The bot is not watched in real time and is not an emergency service; it says so, shows the
help contacts of prompts/safety.yaml in the student's language, and tells the counselor at
once (without the student's words: those stay in the digest, marked urgent).
"""

from __future__ import annotations

import logging

from bot.engine.context import Context
from bot.engine.replies import Recipient, Reply
from bot.safety import is_urgent

log = logging.getLogger(__name__)


def is_crisis(ctx: Context, text: str) -> bool:
    """True when the text contains a crisis phrase of any shipped language."""
    return is_urgent(text, ctx.prompts.safety.phrases)


def help_replies(ctx: Context, *, counselor_told: bool = True) -> list[Reply]:
    """The configured help contacts, in the student's language."""
    t = ctx.t
    lines = [
        t._(
            "Thank you for telling me. I am a bot and I am not watched in real time, "
            "so I cannot help in an emergency. If you are in danger or thinking about "
            "hurting yourself, please contact someone now:"
        ),
    ]
    for contact in ctx.prompts.safety.contacts:
        name, hours = t._(contact.name), t._(contact.hours)  # hours are required
        # TRANSLATORS: a help contact; use your language's punctuation (ja, zh: "：" and "（）")
        line = t._("{name}: {phone} ({hours})", name=name, phone=contact.phone, hours=hours)
        lines.append(f"• {line}")
        if contact.note:
            lines.append(f"  {t._(contact.note)}")
    if counselor_told:
        lines.append(t._("I have also let your counselor know."))
    return [Reply(text="\n".join(lines))]


async def alert_counselor(ctx: Context, *, answer_kept: bool = True) -> list[Reply]:
    """A message to the student's counselor at once, without the student's words."""
    assert ctx.student is not None
    counselor = await ctx.uow.counselors.get(ctx.student.counselor_id)
    if counselor is None:
        return []
    t = ctx.tr(counselor.locale)
    name = ctx.student.label or f"#{ctx.student.id}"
    await ctx.uow.audit.record(
        at=ctx.now,
        actor="system",
        action="safety.alert",
        subject=f"student:{ctx.student.id}",
        counselor=counselor.id,
        answer_kept=answer_kept,
    )
    if not await ctx.uow.accounts.of_counselor(counselor.id):
        # No chat account to alert: the digest (and its push) is all the counselor gets.
        log.warning("safety.alert_without_chat", extra={"counselor": counselor.id})
    if answer_kept:
        text = t._(
            "Urgent: an answer from {student} may mean they are in danger. "
            "They were shown the help contacts. Please read it with /digest and reach out.",
            student=name,
        )
    else:
        text = t._(
            "Urgent: a message from {student} may mean they are in danger. "
            "They were shown the help contacts. No question was open, so their message "
            "was not kept. Please reach out to them.",
            student=name,
        )
    return [Reply(text=text, to=Recipient("counselor", counselor.id))]


async def respond(ctx: Context, *, answer_kept: bool) -> list[Reply]:
    """Help for the student and an alert for the counselor, in that order."""
    return [*help_replies(ctx), *await alert_counselor(ctx, answer_kept=answer_kept)]
