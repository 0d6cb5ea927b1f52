"""Repositories for sessions, question runs, answers and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.models import Answer, AuditEntry, CounselingSession, Run, Student
from bot.db.states import OPEN_RUN_STATES, RunState

# On every answer's path: built once (building a statement costs more than running it).
# When the run's session was held comes along: the next question shows it.
_ACTIVE_RUN = (
    select(Run, CounselingSession.held_at)
    .outerjoin(CounselingSession, CounselingSession.id == Run.session_id)
    .where(Run.student_id == bindparam("student_id"), Run.state == RunState.ACTIVE)
    .order_by(Run.id.desc())
    .limit(1)
)


class Sessions:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self, *, counselor_id: int, student_id: int, held_at: datetime, topics: list[str]
    ) -> CounselingSession:
        row = CounselingSession(
            counselor_id=counselor_id, student_id=student_id, held_at=held_at, topics=topics
        )
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, session_id: int) -> CounselingSession | None:
        return await self.s.get(CounselingSession, session_id)

    async def of_student(self, student_id: int) -> list[CounselingSession]:
        query = select(CounselingSession).where(CounselingSession.student_id == student_id)
        return list((await self.s.scalars(query.order_by(CounselingSession.held_at))).all())


class Runs:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session
        self._held_at: dict[int, datetime | None] = {}  # run id -> its session's time, as read

    async def session_held_at(self, run: Run) -> datetime | None:
        """When the session that started this run was held (None if none, or it is gone)."""
        if run.session_id is None:
            return None
        if run.id not in self._held_at:
            query = select(CounselingSession.held_at).where(CounselingSession.id == run.session_id)
            self._held_at[run.id] = await self.s.scalar(query)
        return self._held_at[run.id]

    async def add(
        self,
        *,
        student_id: int,
        session_id: int | None,
        set_id: str,
        questions: list[str],
        due_at: datetime,
    ) -> Run:
        run = Run(
            student_id=student_id,
            session_id=session_id,
            set_id=set_id,
            questions=questions,
            due_at=due_at,
            state=RunState.SCHEDULED,
        )
        self.s.add(run)
        await self.s.flush()
        return run

    async def get(self, run_id: int) -> Run | None:
        return await self.s.get(Run, run_id)

    async def active_of(self, student_id: int) -> Run | None:
        row = (await self.s.execute(_ACTIVE_RUN, {"student_id": student_id})).first()
        if row is None:
            return None
        run, self._held_at[row[0].id] = row
        return run

    async def open_of(self, student_id: int) -> list[Run]:
        query = select(Run).where(Run.student_id == student_id, Run.state.in_(OPEN_RUN_STATES))
        return list((await self.s.scalars(query.order_by(Run.id))).all())

    async def of_student(self, student_id: int) -> list[Run]:
        query = select(Run).where(Run.student_id == student_id).order_by(Run.id)
        return list((await self.s.scalars(query)).all())

    async def used_questions(self, student_id: int) -> list[str]:
        """Question ids this student was sent before, oldest first."""
        query = select(Run.questions).where(Run.student_id == student_id).order_by(Run.id)
        used: list[str] = []
        for questions in (await self.s.scalars(query)).all():
            used.extend(questions)
        return used

    async def due_to_start(
        self, now: datetime, *, after_id: int = 0, limit: int = 100
    ) -> list[Run]:
        """Scheduled runs whose time has come, of students who may get messages and have no
        run open; by id, from `after_id` on (page through with the last id)."""
        other = aliased(Run)
        busy = exists().where(other.student_id == Run.student_id, other.state == RunState.ACTIVE)
        query = (
            select(Run)
            .join(Student, Student.id == Run.student_id)
            .where(Run.state == RunState.SCHEDULED, Run.due_at <= now, Run.id > after_id, ~busy)
            .where(Student.may_receive_where(now))
            .order_by(Run.id)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def needing_reminder(
        self, asked_before: datetime, *, now: datetime, after_id: int = 0, limit: int = 100
    ) -> list[Run]:
        """Open runs whose current question was asked before the cutoff and not reminded,
        of students who may get messages; by id, from `after_id` on."""
        query = (
            select(Run)
            .join(Student, Student.id == Run.student_id)
            .where(
                Run.state == RunState.ACTIVE,
                Run.asked_at <= asked_before,
                Run.reminded_at.is_(None),
                Run.id > after_id,
            )
            .where(Student.may_receive_where(now))
            .order_by(Run.id)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def mark_started(self, run_id: int) -> bool:
        """Move a run from scheduled to active; False when something else got there first."""
        result = await self.s.execute(
            update(Run)
            .where(Run.id == run_id, Run.state == RunState.SCHEDULED)
            .values(state=RunState.ACTIVE, step=0)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_reminded(
        self, run_id: int, *, step: int, asked_before: datetime, now: datetime
    ) -> bool:
        """Note the one reminder of the current question; False when it is no longer due
        (answered meanwhile, already reminded, or the run closed)."""
        result = await self.s.execute(
            update(Run)
            .where(
                Run.id == run_id,
                Run.state == RunState.ACTIVE,
                Run.step == step,
                Run.asked_at <= asked_before,
                Run.reminded_at.is_(None),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def expire_overdue(
        self, *, asked_before: datetime, due_before: datetime, now: datetime
    ) -> list[int]:
        """Close runs left unanswered (asked before the cutoff) or never started in time
        (due before the cutoff); returns their ids. A set paused after a crisis message
        waits for the student's /resume or a new session instead."""
        held = select(Student.id).where(Student.pause_reason.is_not(None))
        overdue = and_(
            or_(
                and_(Run.state == RunState.ACTIVE, Run.asked_at <= asked_before),
                and_(Run.state == RunState.SCHEDULED, Run.due_at <= due_before),
            ),
            Run.student_id.not_in(held),
        )
        ids = list((await self.s.scalars(select(Run.id).where(overdue))).all())
        if not ids:
            return []
        result = await self.s.scalars(
            update(Run)
            .where(Run.id.in_(ids), overdue)
            .values(state=RunState.EXPIRED, finished_at=now)
            .returning(Run.id)
            .execution_options(synchronize_session="fetch")
        )
        return list(result.all())

    async def cancel_open(self, student_id: int, now: datetime) -> list[int]:
        """Cancel what is still pending for a student; returns the cancelled run ids."""
        ids = list(
            (
                await self.s.scalars(
                    select(Run.id).where(
                        Run.student_id == student_id, Run.state.in_(OPEN_RUN_STATES)
                    )
                )
            ).all()
        )
        if ids:
            await self.s.execute(
                update(Run)
                .where(Run.id.in_(ids), Run.state.in_(OPEN_RUN_STATES))
                .values(state=RunState.CANCELLED, finished_at=now)
            )
        return ids

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many runs in one statement (imports, benchmarks); ids are not returned."""
        if rows:
            await self.s.execute(insert(Run), list(rows))

    async def of_students(self, student_ids: Sequence[int]) -> list[Run]:
        query = select(Run).where(Run.student_id.in_(student_ids)).order_by(Run.id)
        return list((await self.s.scalars(query)).all())


class Answers:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, **values: Any) -> Answer:
        answer = Answer(**values)
        self.s.add(answer)
        await self.s.flush()
        return answer

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many answers in one statement (imports, benchmarks)."""
        if rows:
            await self.s.execute(insert(Answer), list(rows))

    async def of_run(self, run_id: int) -> list[Answer]:
        query = select(Answer).where(Answer.run_id == run_id).order_by(Answer.id)
        return list((await self.s.scalars(query)).all())

    async def of_student(self, student_id: int) -> list[Answer]:
        query = select(Answer).where(Answer.student_id == student_id).order_by(Answer.id)
        return list((await self.s.scalars(query)).all())

    async def by_message(self, student_id: int, channel: str, message_id: str) -> Answer | None:
        if not message_id:
            return None
        query = select(Answer).where(
            Answer.student_id == student_id,
            Answer.channel == channel,
            Answer.message_id == message_id,
        )
        return await self.s.scalar(query)

    async def delete_older_than(self, cutoff: datetime) -> int:
        result = await self.s.execute(delete(Answer).where(Answer.created_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def count(self) -> int:
        return int(await self.s.scalar(select(func.count(Answer.id))) or 0)


class Audit:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(
        self, *, at: datetime, actor: str, action: str, subject: str = "", **detail: Any
    ) -> None:
        self.s.add(AuditEntry(at=at, actor=actor, action=action, subject=subject, detail=detail))
        await self.s.flush()

    async def keep_only_the_facts(self, subject: str) -> None:
        """Clear the details (such as session topics) of the entries about a subject;
        who did what to whom, and when, stays."""
        await self.s.execute(
            update(AuditEntry).where(AuditEntry.subject == subject).values(detail={})
        )

    async def about(self, subject: str) -> list[AuditEntry]:
        query = select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id)
        return list((await self.s.scalars(query)).all())

    async def entries(self, limit: int = 200) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        return list((await self.s.scalars(query)).all())
