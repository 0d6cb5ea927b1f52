"""Repository for machine translations of answers (the queue and the results)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Answer, Student, Translation

BACKLOG = "pending"


@dataclass(frozen=True)
class Claimed:
    """What one translation attempt needs: the row, its languages and the answer's text."""

    id: int
    source: str
    target: str
    original: str
    attempts: int


class Translations:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def queue(
        self, *, answer_id: int, student_id: int, source: str, target: str, now: datetime
    ) -> Translation:
        """Ask for a translation of an answer into `target`, due at once."""
        row = Translation(
            answer_id=answer_id,
            student_id=student_id,
            source=source,
            target=target,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return row

    async def delete_of_answer(self, answer_id: int) -> None:
        """Drop an answer's translations (it was edited or withdrawn)."""
        await self.s.execute(delete(Translation).where(Translation.answer_id == answer_id))

    async def claim(self, *, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """Take due rows for one attempt: the lease pushes their next attempt out, so a
        process that dies mid-call leaves them to be tried again once it runs out. Only
        answers still shown and of students who consent are sent to a translator."""
        due = (
            Translation.status == "pending",
            Translation.next_attempt_at <= now,
        )
        query = (
            select(Translation.id)
            .join(Answer, Answer.id == Translation.answer_id)
            .join(Student, Student.id == Translation.student_id)
            .where(*due, Answer.hidden.is_(False), Student.consent == "given")
            .order_by(Translation.next_attempt_at, Translation.id)
            .limit(limit)
        )
        if self.s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Translation)
        found = list((await self.s.scalars(query)).all())
        if not found:
            return []
        claimed = await self.s.scalars(
            update(Translation)
            .where(Translation.id.in_(found), *due)
            .values(next_attempt_at=now + lease, attempts=Translation.attempts + 1)
            .returning(Translation)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        rows = list(claimed.all())
        answers = await self.s.execute(
            select(Answer.id, Answer.text).where(Answer.id.in_([r.answer_id for r in rows]))
        )
        texts = {answer_id: text for answer_id, text in answers.all()}
        return [
            Claimed(r.id, r.source, r.target, texts.get(r.answer_id) or "", r.attempts)
            for r in sorted(rows, key=lambda r: r.id)
        ]

    async def complete(
        self,
        row_id: int,
        *,
        original: str,
        text: str | None,
        status: str,
        provider: str,
        source: str | None,
        now: datetime,
    ) -> bool:
        """Record an outcome, unless the answer changed (or went) while it was translated."""
        row = await self.s.get(Translation, row_id, with_for_update=self._locking)
        if row is None or row.status != "pending":
            return False
        answer = await self.s.get(Answer, row.answer_id)
        if answer is None or (answer.text or "") != original:
            return False
        row.status, row.text, row.provider, row.translated_at = status, text, provider, now
        if source and row.source == "auto":
            row.source = source[:16]
        await self.s.flush()
        return True

    async def retry_later(self, row_ids: Sequence[int], *, at: datetime) -> None:
        await self.s.execute(
            update(Translation)
            .where(Translation.id.in_(list(row_ids)), Translation.status == "pending")
            .values(next_attempt_at=at)
        )

    async def give_up(self, row_ids: Sequence[int], *, provider: str, now: datetime) -> None:
        await self.s.execute(
            update(Translation)
            .where(Translation.id.in_(list(row_ids)), Translation.status == "pending")
            .values(status="failed", provider=provider, translated_at=now)
        )

    async def of_student(self, student_id: int) -> list[Translation]:
        query = select(Translation).where(Translation.student_id == student_id)
        return list((await self.s.scalars(query.order_by(Translation.id))).all())

    async def backlog(self) -> int:
        """Translations still waiting (for /metrics): grows while the service is down."""
        query = select(func.count(Translation.id)).where(Translation.status == BACKLOG)
        return int(await self.s.scalar(query) or 0)

    @property
    def _locking(self) -> bool:
        return self.s.get_bind().dialect.name == "postgresql"
