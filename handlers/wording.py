"""Time words that stay true, and a run read back to the student in their own words.

A question or intro that says "today" is true only on the session's own day in the
student's time zone; on a later day (a reminder, a reflection that waited for consent)
it names the session's date instead. The mirror and /journal label each answer with its
step ("Most useful", "You noticed", ...) and leave skipped and withdrawn answers out.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db.models import Answer, Run, Student
from bot.engine.context import Context
from bot.i18n import Translator
from bot.prompts import Question, QuestionSet


async def session_time(ctx: Context, run: Run) -> datetime | None:
    """When the session that started this run was held (None if it is gone)."""
    return await ctx.uow.runs.session_held_at(run)


def is_later_day(held_at: datetime | None, now: datetime, zone: str) -> bool:
    """Whether `now` is on a later local day than the session ("today" no longer true)."""
    if held_at is None:
        return False
    local = ZoneInfo(zone)
    return now.astimezone(local).date() > held_at.astimezone(local).date()


def question_text(
    t: Translator, question: Question, *, held_at: datetime | None, now: datetime, zone: str
) -> str:
    """The question as the student reads it now."""
    if held_at is not None and is_later_day(held_at, now, zone) and question.later:
        return t._(question.later, date=t.day(held_at, zone))
    return t._(question.text)


def intro_text(
    t: Translator, question_set: QuestionSet, *, held_at: datetime | None, now: datetime, zone: str
) -> str:
    """The set's intro as the student reads it now."""
    if held_at is not None and is_later_day(held_at, now, zone) and question_set.intro_later:
        return t._(question_set.intro_later, date=t.day(held_at, zone))
    return t._(question_set.intro)


def answer_text(
    ctx: Context,
    text: str | None,
    choice: str | None,
    scale: int | None,
    t: Translator,
    *,
    question_id: str | None = None,
) -> str:
    """An answer as words: what was written, "3/5", the yes/no button pressed, or a topic."""
    if text:
        return text
    if scale is not None:
        return f"{scale}/5"
    if choice in ("yes", "no"):
        question = _question(ctx, question_id)
        said = question and (question.answer_yes if choice == "yes" else question.answer_no)
        if said:
            return t._(said)
        # TRANSLATORS: a yes/no answer as listed for the counselor (buttons have their own words)
        return t._("Yes") if choice == "yes" else t._("No")
    if choice:
        try:
            return t._(ctx.prompts.topic(choice).label)
        except KeyError:
            return choice
    return ""


def _question(ctx: Context, question_id: str | None) -> Question | None:
    try:
        return ctx.prompts.question(question_id) if question_id else None
    except KeyError:
        return None


def answer_lines(ctx: Context, t: Translator, answers: list[Answer]) -> list[str]:
    """One "• label: answer" line per answer given; skipped and withdrawn ones are left out."""
    lines = []
    for answer in answers:
        if answer.skipped or answer.hidden:
            continue
        shown = answer_text(
            ctx, answer.text, answer.choice, answer.scale, t, question_id=answer.question_id
        )
        if not shown:
            continue
        try:
            label = t._(ctx.prompts.step_of(answer.question_id).mirror)
        except KeyError:  # a question no longer in prompts/: show the answer alone
            lines.append(f"• {shown}")
            continue
        # TRANSLATORS: one answer read back to the student: "Next step: write my CV"
        lines.append("• " + t._("{label}: {answer}", label=label, answer=shown))
    return lines


async def mirror(ctx: Context, run: Run, student: Student, *, before_last: bool) -> str | None:
    """The student's answers in this run so far, framed; None when there is nothing to show."""
    t = ctx.tr(student.locale)
    # An answer that suggested danger is never quoted back (see handlers/safety.py).
    answers = [a for a in await ctx.uow.answers.of_run(run.id) if not a.urgent]
    lines = answer_lines(ctx, t, answers)
    if not lines:
        return None
    if not before_last:
        heading = t._("Here is what you wrote:")
    else:
        held_at = await session_time(ctx, run)
        if held_at is not None and is_later_day(held_at, ctx.now, student.timezone):
            heading = t._(
                "Before the last question, here is what you wrote about your session on {date}:",
                date=t.day(held_at, student.timezone),
            )
        else:
            heading = t._("Before the last question, here is what you wrote:")
    return "\n".join([heading, *lines])


async def journal(ctx: Context, student: Student, answers: list[Answer]) -> str:
    """The student's answers grouped by question set, each under the session's date."""
    t = ctx.tr(student.locale)
    runs: dict[int, list[Answer]] = {}
    for answer in answers:
        runs.setdefault(answer.run_id, []).append(answer)
    parts = [t._("Your reflections:")]
    for run_id, given in runs.items():
        lines = answer_lines(ctx, t, given)
        if not lines:
            continue
        run = await ctx.uow.runs.get(run_id)
        held_at = await session_time(ctx, run) if run is not None else None
        day = t.day(held_at or given[0].created_at, student.timezone)
        question_set = ctx.prompts.sets.get(run.set_id) if run is not None else None
        heading = t._(question_set.journal, date=day) if question_set else day
        parts.append("\n".join([f"\n{heading}", *lines]))
    return "\n".join(parts)
