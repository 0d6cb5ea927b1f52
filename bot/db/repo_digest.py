"""The reads behind a counselor's digest and student list: a fixed number of queries,
whatever the number of students, returning plain rows (no ORM objects to build per answer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Answer, CounselingSession, Run, Student, Translation
from bot.db.states import RunState
from bot.db.types import UTCDateTime


# The row shapes of the reads below (SQLAlchemy rows have the same names and order).
class AnswerRow(NamedTuple):
    id: int
    run_id: int
    student_id: int
    question_id: str
    text: str | None
    choice: str | None
    scale: int | None
    skipped: bool
    urgent: bool
    edited: bool
    created_at: datetime


class RunRow(NamedTuple):
    id: int
    student_id: int
    set_id: str
    questions: list[str] | None  # only for expired and cancelled runs
    step: int
    state: str
    asked_at: datetime | None
    finished_at: datetime | None


class SessionRow(NamedTuple):
    student_id: int
    held_at: datetime
    topics: list[str]


class TranslationRow(NamedTuple):
    answer_id: int
    text: str | None
    status: str  # pending | done | same | unsupported | failed
    provider: str


class ScaleRow(NamedTuple):
    student_id: int
    question_id: str
    scale: int
    created_at: datetime


def _of(counselor_id: int, student_id: int | None) -> Any:
    """The students a read covers: all of this counselor's, or one of them."""
    query = select(Student.id).where(Student.counselor_id == counselor_id)
    if student_id is not None:
        query = query.where(Student.id == student_id)
    return query.scalar_subquery()


class DigestReads:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def answers(
        self, counselor_id: int, since: datetime, *, student_id: int | None = None
    ) -> list[AnswerRow]:
        """Visible answers given after `since`, per student oldest first. (Ordered by student
        first: ordered by time alone, PostgreSQL may walk the created_at index instead.)"""
        query = (
            select(
                Answer.id,
                Answer.run_id,
                Answer.student_id,
                Answer.question_id,
                Answer.text,
                Answer.choice,
                Answer.scale,
                Answer.skipped,
                Answer.urgent,
                Answer.edited_at.is_not(None).label("edited"),
                Answer.created_at,
            )
            .where(
                Answer.student_id.in_(_of(counselor_id, student_id)),
                Answer.created_at > since,
                Answer.hidden.is_(False),
            )
            .order_by(Answer.student_id, Answer.created_at, Answer.id)
        )
        # SQLAlchemy's rows already read as named tuples: no copy per answer.
        return cast(list[AnswerRow], (await self.s.execute(query)).all())

    async def runs(
        self, counselor_id: int, since: datetime, *, student_id: int | None = None
    ) -> list[RunRow]:
        """Question sets asked, answered or closed after `since`, or still open. Their
        question lists only where some may be left unanswered (expired, cancelled)."""
        closed = Run.state.in_((RunState.EXPIRED, RunState.CANCELLED))
        query = (
            select(
                Run.id,
                Run.student_id,
                Run.set_id,
                case((closed, Run.questions), else_=null()).label("questions"),
                Run.step,
                Run.state,
                Run.asked_at,
                Run.finished_at,
            )
            .where(
                Run.student_id.in_(_of(counselor_id, student_id)),
                Run.state != RunState.SCHEDULED,
                or_(Run.asked_at > since, Run.finished_at > since, Run.state == RunState.ACTIVE),
            )
            .order_by(Run.id)
        )
        make = RunRow._make
        return [make(row) for row in (await self.s.execute(query)).all()]

    async def translations(
        self, counselor_id: int, since: datetime, target: str, *, student_id: int | None = None
    ) -> list[TranslationRow]:
        """The machine translations into `target` of the answers `answers` reads: one query
        for the whole window (not a list of answer ids)."""
        query = (
            select(
                Translation.answer_id, Translation.text, Translation.status, Translation.provider
            )
            .join(Answer, Answer.id == Translation.answer_id)
            .where(
                Answer.student_id.in_(_of(counselor_id, student_id)),
                Answer.created_at > since,
                Answer.hidden.is_(False),
                Translation.target == target,
            )
        )
        return cast(list[TranslationRow], (await self.s.execute(query)).all())

    async def sessions(
        self, counselor_id: int, since: datetime, *, student_id: int | None = None
    ) -> list[SessionRow]:
        query = (
            select(
                CounselingSession.student_id, CounselingSession.held_at, CounselingSession.topics
            )
            .where(
                CounselingSession.student_id.in_(_of(counselor_id, student_id)),
                CounselingSession.held_at > since,
            )
            .order_by(CounselingSession.held_at)
        )
        make = SessionRow._make
        return [make(row) for row in (await self.s.execute(query)).all()]

    async def scales(self, counselor_id: int, *, student_id: int | None = None) -> list[ScaleRow]:
        """Every visible 1–5 answer (for trends, which reach back before the window)."""
        query = (
            select(Answer.student_id, Answer.question_id, Answer.scale, Answer.created_at)
            .where(
                Answer.student_id.in_(_of(counselor_id, student_id)),
                Answer.scale.is_not(None),
                Answer.hidden.is_(False),
            )
            .order_by(Answer.created_at, Answer.id)
        )
        return cast(list[ScaleRow], (await self.s.execute(query)).all())

    async def plain_answer_rows(self, counselor_id: int) -> int:
        """Every column of the counselor's answers, fetched and dropped: the baseline the
        digest benchmark compares with. Returns how many rows."""
        query = select(Answer.__table__).where(Answer.student_id.in_(_of(counselor_id, None)))
        return len((await self.s.execute(query)).all())

    async def last_answers(self, counselor_id: int) -> dict[int, datetime]:
        """When each student last answered (skips count: the student was there)."""
        query = (
            select(Answer.student_id, func.max(Answer.created_at, type_=UTCDateTime()))
            .where(Answer.student_id.in_(_of(counselor_id, None)), Answer.hidden.is_(False))
            .group_by(Answer.student_id)
        )
        return {student_id: at for student_id, at in (await self.s.execute(query)).all()}
