"""When an answer suggests danger: help contacts for the student, an alert for the counselor."""

from __future__ import annotations

from bot.engine.context import Context
from bot.engine.replies import Recipient, Reply


def help_replies(ctx: Context) -> list[Reply]:
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
        line = f"• {t._(contact.name)}: {contact.phone}"
        if contact.hours:
            line += f" ({t._(contact.hours)})"
        lines.append(line)
    lines.append(t._("I have also let your counselor know."))
    return [Reply(text="\n".join(lines))]


async def alert_counselor(ctx: Context) -> list[Reply]:
    """A message to the counselor at once, without the student's words."""
    assert ctx.student is not None
    counselor = await ctx.uow.counselors.get(ctx.student.counselor_id)
    if counselor is None:
        return []
    t = ctx.tr(counselor.locale)
    name = ctx.student.label or f"#{ctx.student.id}"
    await ctx.uow.audit.record(
        at=ctx.now, actor="system", action="safety.alert", subject=f"student:{ctx.student.id}"
    )
    text = t._(
        "Urgent: an answer from {student} may mean they are in danger. "
        "They were shown the help contacts. Please read it with /digest and reach out.",
        student=name,
    )
    return [Reply(text=text, to=Recipient("counselor", counselor.id))]
