"""The counselor's digest, built as data; render.py turns it into text, CSV, JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.db.models import Answer, Counselor, Student
from bot.engine.context import Context

FLAGS = ("urgent", "wants_to_talk", "unanswered", "paused", "stopped", "unreachable", "no_consent")


@dataclass
class DigestAnswer:
    at: datetime
    local_time: str
    set_id: str
    question_id: str
    question: str  # in the counselor's language
    answer: str  # as the student wrote it (choices and scales rendered)
    scale: int | None = None
    skipped: bool = False
    urgent: bool = False
    edited: bool = False


@dataclass
class DigestSession:
    held_at: datetime
    local_time: str
    topics: list[str]  # topic names in the counselor's language


@dataclass
class DigestStudent:
    id: int
    name: str
    locale: str
    flags: list[str] = field(default_factory=list)
    sessions: list[DigestSession] = field(default_factory=list)
    answers: list[DigestAnswer] = field(default_factory=list)
    trends: dict[str, list[int]] = field(default_factory=dict)  # step -> scale values, oldest first
    unanswered: int = 0


@dataclass
class Digest:
    counselor_id: int
    counselor_name: str
    locale: str
    timezone: str
    since: datetime
    until: datetime
    students: list[DigestStudent]
    everything: bool = False  # no earlier digest and no --since: all there is


_RELATIVE = re.compile(r"^(\d{1,4})([dhw])$")


def parse_since(raw: str, *, now: datetime) -> datetime | None:
    """ "7d", "12h", "2w" or an ISO date/datetime (UTC unless it says otherwise)."""
    raw = raw.strip().lower()
    if match := _RELATIVE.match(raw):
        amount, unit = int(match.group(1)), match.group(2)
        return (
            now
            - {
                "d": timedelta(days=amount),
                "h": timedelta(hours=amount),
                "w": timedelta(weeks=amount),
            }[unit]
        )
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def build_digest(ctx: Context, counselor: Counselor, *, since: datetime | None) -> Digest:
    """Everything new from this counselor's students since `since` (default: the last digest)."""
    t = ctx.tr(counselor.locale)
    start = since or counselor.last_digest_at or datetime(2000, 1, 1, tzinfo=UTC)
    students = await ctx.uow.students.list_for_counselor(counselor.id)
    ids = [s.id for s in students]
    sessions = await ctx.uow.sessions.of_students_since(ids, start)
    answers = await ctx.uow.answers.of_students_since(ids, start)
    runs = await ctx.uow.runs.of_students(ids)
    result = []
    for student in students:
        entry = DigestStudent(
            id=student.id, name=student.label or f"#{student.id}", locale=student.locale
        )
        for session in (s for s in sessions if s.student_id == student.id):
            names = [t._(ctx.prompts.topic(tid).name) for tid in session.topics]
            entry.sessions.append(
                DigestSession(
                    session.held_at, t.datetime(session.held_at, counselor.timezone), names
                )
            )
        mine = [a for a in answers if a.student_id == student.id and not a.hidden]
        entry.answers = [_answer(ctx, t, counselor, a) for a in mine]
        entry.unanswered = sum(
            1
            for r in runs
            if r.student_id == student.id
            and r.state == "expired"
            and r.finished_at is not None
            and r.finished_at > start
        )
        entry.trends = await _trends(ctx, student)
        entry.flags = _flags(ctx, student, mine, entry.unanswered)
        if entry.sessions or entry.answers or entry.flags:
            result.append(entry)
    result.sort(
        key=lambda s: (-len([f for f in s.flags if f in ("urgent", "wants_to_talk")]), s.id)
    )
    everything = since is None and counselor.last_digest_at is None
    return Digest(
        counselor.id,
        counselor.name,
        counselor.locale,
        counselor.timezone,
        start,
        ctx.now,
        result,
        everything,
    )


def _answer(ctx: Context, t, counselor: Counselor, answer: Answer) -> DigestAnswer:  # type: ignore[no-untyped-def]
    from handlers.reflection import answer_text

    question = ctx.prompts.question(answer.question_id)
    return DigestAnswer(
        at=answer.created_at,
        local_time=t.datetime(answer.created_at, counselor.timezone),
        set_id=ctx.prompts.set_of(answer.question_id).id,
        question_id=answer.question_id,
        question=t._(question.text),
        answer=answer_text(ctx, answer.text, answer.choice, answer.scale, t),
        scale=answer.scale,
        skipped=answer.skipped,
        urgent=answer.urgent,
        edited=answer.edited_at is not None,
    )


async def _trends(ctx: Context, student: Student) -> dict[str, list[int]]:
    trends: dict[str, list[int]] = {}
    for answer in await ctx.uow.answers.of_student(student.id):
        if answer.scale is not None and not answer.hidden:
            step = answer.question_id.rsplit(".", 1)[0]
            trends.setdefault(step, []).append(answer.scale)
    return {step: values[-6:] for step, values in trends.items()}


def _flags(ctx: Context, student: Student, answers: list[Answer], unanswered: int) -> list[str]:
    flags = []
    if any(a.urgent for a in answers):
        flags.append("urgent")
    talk = [a for a in answers if _flag_of(ctx, a.question_id) == "wants_to_talk" and a.choice]
    if talk and talk[-1].choice == "yes":
        flags.append("wants_to_talk")
    if unanswered:
        flags.append("unanswered")
    if student.paused_until is not None and student.paused_until > ctx.now:
        flags.append("paused")
    if student.status == "stopped":
        flags.append("stopped")
    if not student.reachable:
        flags.append("unreachable")
    if student.consent != "given":
        flags.append("no_consent")
    return flags


def _flag_of(ctx: Context, question_id: str) -> str | None:
    question_set = ctx.prompts.set_of(question_id)
    for step in question_set.steps:
        if any(q.id == question_id for q in step.pool):
            return step.flag
    return None
