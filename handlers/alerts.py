"""Alerts to the counselor that do not wait for the digest: a student who wants to talk,
stopped the messages, or blocked the bot. (A crisis alert is handlers/safety.py.)

Each is a message of its own, due at once, at any hour (the send window is for students),
never folded into the weekly digest push; the digest keeps its flag as well.
"""

from __future__ import annotations

import logging

from bot.db.models import Counselor, Student
from bot.engine.context import Context
from bot.engine.replies import Recipient, Reply

log = logging.getLogger(__name__)

WANTS_TO_TALK = "wants_to_talk"  # the step flag of "would you like to talk again?"


def _name(student: Student) -> str:
    return student.label or f"#{student.id}"


async def _to_counselor(
    ctx: Context, student: Student, kind: str
) -> tuple[Counselor, Recipient] | None:
    counselor = await ctx.uow.counselors.get(student.counselor_id)
    if counselor is None:
        return None
    await ctx.uow.audit.record(
        at=ctx.now,
        actor="system",
        action=f"alert.{kind}",
        subject=f"student:{student.id}",
        counselor=counselor.id,
    )
    if not await ctx.uow.accounts.of_counselor(counselor.id):
        log.warning("alert.without_chat", extra={"counselor": counselor.id, "kind": kind})
    return counselor, Recipient("counselor", counselor.id)


async def wants_to_talk(ctx: Context, student: Student) -> list[Reply]:
    """Tell the counselor at once, with the student's name and how to answer; tell the
    student what happens next."""
    found = await _to_counselor(ctx, student, WANTS_TO_TALK)
    if found is None:
        return []
    counselor, to = found
    t = ctx.tr(counselor.locale)
    alert = t._(
        "{student} (#{id}) would like to talk with you again. Please contact them the way "
        "you usually do; after you meet, log it with /session {id}.",
        student=_name(student),
        id=student.id,
    )
    told = ctx.tr(student.locale)._(
        "I have told your counselor that you would like to talk. They will contact you."
    )
    return [Reply(text=alert, to=to, concerns=frozenset({student.id})), Reply(text=told)]


async def stopped(ctx: Context, student: Student) -> list[Reply]:
    """The student sent /stop: the counselor hears it now, not in a week."""
    found = await _to_counselor(ctx, student, "stopped")
    if found is None:
        return []
    counselor, to = found
    text = ctx.tr(counselor.locale)._(
        "{student} (#{id}) stopped all messages from the bot (/stop). No questions are sent "
        "until they start again.",
        student=_name(student),
        id=student.id,
    )
    return [Reply(text=text, to=to, concerns=frozenset({student.id}))]


async def unreachable(ctx: Context, student: Student) -> list[Reply]:
    """The student blocked the bot (or the chat is gone)."""
    found = await _to_counselor(ctx, student, "unreachable")
    if found is None:
        return []
    counselor, to = found
    text = ctx.tr(counselor.locale)._(
        "{student} (#{id}) blocked the bot, so no more questions reach them. "
        "If you want to stay in touch, please contact them directly.",
        student=_name(student),
        id=student.id,
    )
    return [Reply(text=text, to=to, concerns=frozenset({student.id}))]


async def found_unreachable(ctx: Context, *, student_id: int) -> list[Reply]:
    """Scheduled-job form, for a send that found the student gone (the dispatcher)."""
    student = await ctx.uow.students.get(student_id)
    return await unreachable(ctx, student) if student is not None else []
