"""Repositories for sessions, question runs, answers and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Answer, AuditEntry, CounselingSession, Run, Student

OPEN_STATES = ("scheduled", "active")


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

    async def of_students_since(
        self, student_ids: Sequence[int], since: datetime
    ) -> list[CounselingSession]:
        query = (
            select(CounselingSession)
            .where(CounselingSession.student_id.in_(student_ids), CounselingSession.held_at > since)
            .order_by(CounselingSession.held_at)
        )
        return list((await self.s.scalars(query)).all())

    async def of_student(self, student_id: int) -> list[CounselingSession]:
        query = select(CounselingSession).where(CounselingSession.student_id == student_id)
        return list((await self.s.scalars(query.order_by(CounselingSession.held_at))).all())


class Runs:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

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
            state="scheduled",
        )
        self.s.add(run)
        await self.s.flush()
        return run

    async def get(self, run_id: int) -> Run | None:
        return await self.s.get(Run, run_id)

    async def active_of(self, student_id: int) -> Run | None:
        query = (
            select(Run)
            .where(Run.student_id == student_id, Run.state == "active")
            .order_by(Run.id.desc())
            .limit(1)
        )
        return await self.s.scalar(query)

    async def open_of(self, student_id: int) -> list[Run]:
        query = select(Run).where(Run.student_id == student_id, Run.state.in_(OPEN_STATES))
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

    async def due_to_start(self, now: datetime, limit: int = 100) -> list[Run]:
        """Scheduled runs whose time has come, for students who consented and are active."""
        query = (
            select(Run)
            .join(Student, Student.id == Run.student_id)
            .where(
                Run.state == "scheduled",
                Run.due_at <= now,
                Student.consent == "given",
                Student.status == "active",
                Student.reachable.is_(True),
                or_(Student.paused_until.is_(None), Student.paused_until <= now),
            )
            .order_by(Run.due_at, Run.id)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def needing_reminder(self, asked_before: datetime, limit: int = 100) -> list[Run]:
        query = (
            select(Run)
            .where(Run.state == "active", Run.asked_at <= asked_before, Run.reminded_at.is_(None))
            .order_by(Run.id)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def expiring(self, asked_before: datetime, limit: int = 100) -> list[Run]:
        query = (
            select(Run)
            .where(Run.state == "active", Run.asked_at <= asked_before)
            .order_by(Run.id)
            .limit(limit)
        )
        return list((await self.s.scalars(query)).all())

    async def cancel_open(self, student_id: int, now: datetime) -> list[int]:
        """Cancel what is still pending for a student; returns the cancelled run ids."""
        ids = list(
            (
                await self.s.scalars(
                    select(Run.id).where(Run.student_id == student_id, Run.state.in_(OPEN_STATES))
                )
            ).all()
        )
        if ids:
            await self.s.execute(
                update(Run).where(Run.id.in_(ids)).values(state="cancelled", finished_at=now)
            )
        return ids

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

    async def of_students_since(self, student_ids: Sequence[int], since: datetime) -> list[Answer]:
        query = (
            select(Answer)
            .where(Answer.student_id.in_(student_ids), Answer.created_at > since)
            .order_by(Answer.created_at, Answer.id)
        )
        return list((await self.s.scalars(query)).all())

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

    async def entries(self, limit: int = 200) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        return list((await self.s.scalars(query)).all())
