"""Repositories for counselors, students, their chat accounts and join codes."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codes import new_code, normalize
from bot.db.models import ChannelAccount, Code, CodeAttempt, Counselor, Student

# On every event's path: built once (building a statement costs more than running it).
_BY_EXTERNAL_ID = (
    ChannelAccount.channel == bindparam("channel"),
    ChannelAccount.external_id == bindparam("external_id"),
)
_FIND_ACCOUNT = select(ChannelAccount).where(*_BY_EXTERNAL_ID)
_FIND_WITH_PERSON = (
    select(ChannelAccount, Student, Counselor)
    .outerjoin(Student, Student.id == ChannelAccount.student_id)
    .outerjoin(Counselor, Counselor.id == ChannelAccount.counselor_id)
    .where(*_BY_EXTERNAL_ID)
)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


class Counselors:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self, *, name: str, locale: str, timezone: str, is_admin: bool, now: datetime
    ) -> Counselor:
        counselor = Counselor(
            name=name, locale=locale, timezone=timezone, is_admin=is_admin, created_at=now
        )
        self.s.add(counselor)
        await self.s.flush()
        return counselor

    async def get(self, counselor_id: int) -> Counselor | None:
        return await self.s.get(Counselor, counselor_id)

    async def all(self) -> list[Counselor]:
        return list((await self.s.scalars(select(Counselor).order_by(Counselor.id))).all())


class Students:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self, *, counselor_id: int, label: str, locale: str, timezone: str, now: datetime
    ) -> Student:
        student = Student(
            counselor_id=counselor_id,
            label=label,
            locale=locale,
            timezone=timezone,
            created_at=now,
        )
        self.s.add(student)
        await self.s.flush()
        return student

    async def get(self, student_id: int) -> Student | None:
        return await self.s.get(Student, student_id)

    async def many(self, student_ids: Collection[int]) -> list[Student]:
        """Load these students in one query (later `get`s of them need none)."""
        if not student_ids:
            return []
        query = select(Student).where(Student.id.in_(set(student_ids)))
        return list((await self.s.scalars(query)).all())

    async def of_counselor(self, counselor_id: int, student_id: int) -> Student | None:
        """The student only if they belong to this counselor: the access rule, in SQL."""
        return await self.s.scalar(
            select(Student).where(Student.id == student_id, Student.counselor_id == counselor_id)
        )

    async def list_for_counselor(self, counselor_id: int) -> list[Student]:
        query = select(Student).where(Student.counselor_id == counselor_id).order_by(Student.id)
        return list((await self.s.scalars(query)).all())

    async def delete(self, student_id: int) -> None:
        await self.s.execute(delete(Student).where(Student.id == student_id))

    async def hand_over(self, from_counselor: int, to_counselor: int) -> int:
        """Move every student of one counselor to another; returns how many."""
        result = await self.s.execute(
            update(Student)
            .where(Student.counselor_id == from_counselor)
            .values(counselor_id=to_counselor)
            .execution_options(synchronize_session="fetch")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def count_by_counselor(self) -> dict[int, int]:
        query = select(Student.counselor_id, func.count(Student.id)).group_by(Student.counselor_id)
        return {cid: int(n) for cid, n in (await self.s.execute(query)).all()}


class Accounts:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def find(self, channel: str, external_id: str) -> ChannelAccount | None:
        return await self.s.scalar(_FIND_ACCOUNT, {"channel": channel, "external_id": external_id})

    async def find_with_person(
        self, channel: str, external_id: str
    ) -> tuple[ChannelAccount | None, Student | None, Counselor | None]:
        """The account, and the student or counselor it belongs to, in one query."""
        values = {"channel": channel, "external_id": external_id}
        row = (await self.s.execute(_FIND_WITH_PERSON, values)).first()
        if row is None:
            return None, None, None
        account, student, counselor = row
        return account, student, counselor

    async def may_keep_words(self, channel: str, external_id: str) -> bool:
        """True for a counselor's chat account or a student's who consented."""
        query = (
            select(ChannelAccount.counselor_id, Student.consent)
            .outerjoin(Student, Student.id == ChannelAccount.student_id)
            .where(ChannelAccount.channel == channel, ChannelAccount.external_id == external_id)
        )
        row = (await self.s.execute(query)).first()
        return row is not None and (row.counselor_id is not None or row.consent == "given")

    async def add(
        self,
        *,
        channel: str,
        external_id: str,
        chat_id: str,
        now: datetime,
        student_id: int | None = None,
        counselor_id: int | None = None,
    ) -> ChannelAccount:
        account = ChannelAccount(
            channel=channel,
            external_id=external_id,
            chat_id=chat_id,
            student_id=student_id,
            counselor_id=counselor_id,
            created_at=now,
        )
        self.s.add(account)
        await self.s.flush()
        return account

    async def of_student(self, student_id: int) -> list[ChannelAccount]:
        query = select(ChannelAccount).where(ChannelAccount.student_id == student_id)
        return list((await self.s.scalars(query.order_by(ChannelAccount.id))).all())

    async def of_counselor(self, counselor_id: int) -> list[ChannelAccount]:
        query = select(ChannelAccount).where(ChannelAccount.counselor_id == counselor_id)
        return list((await self.s.scalars(query.order_by(ChannelAccount.id))).all())

    async def delete_of_counselor(self, counselor_id: int) -> int:
        """Unlink a counselor's chat accounts; returns how many."""
        result = await self.s.execute(
            delete(ChannelAccount).where(ChannelAccount.counselor_id == counselor_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Codes:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def create(
        self, *, kind: str, counselor_id: int, label: str, now: datetime, ttl: timedelta
    ) -> str:
        """Make a short random code (bot/codes.py); only its hash is stored. Returns the
        code itself, grouped for reading."""
        code = new_code()
        self.s.add(
            Code(
                code_hash=hash_code(normalize(code)),
                kind=kind,
                counselor_id=counselor_id,
                label=label,
                expires_at=now + ttl,
                created_at=now,
            )
        )
        await self.s.flush()
        return code

    async def redeem(self, code: str, *, now: datetime) -> Code | None:
        """Use a valid code once: a second use, an expired or unknown code gives None."""
        if not code or len(code) > 64:
            return None
        # Codes made before they were short were stored exactly as issued.
        hashes = {hash_code(normalize(code)), hash_code(code)}
        row = await self.s.scalar(
            update(Code)
            .where(Code.code_hash.in_(hashes), Code.used_at.is_(None), Code.expires_at > now)
            .values(used_at=now)
            .returning(Code)
        )
        return row

    async def delete_expired_before(self, cutoff: datetime) -> int:
        """Forget codes that expired before the cutoff (used or not), with their labels."""
        result = await self.s.execute(delete(Code).where(Code.expires_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def revoke_unused(self, counselor_id: int, *, now: datetime, kind: str | None) -> int:
        """Make a counselor's unused codes (of one kind, or all) expire now."""
        query = update(Code).where(
            Code.counselor_id == counselor_id, Code.used_at.is_(None), Code.expires_at > now
        )
        if kind is not None:
            query = query.where(Code.kind == kind)
        result = await self.s.execute(query.values(expires_at=now, label=""))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def chat_hash(channel: str, chat_id: str) -> str:
    """A chat, named without its id (for rows that only count attempts)."""
    return hashlib.sha256(f"{channel}:{chat_id}".encode()).hexdigest()


class CodeAttempts:
    """Wrong invite or link codes per chat, for a few minutes: guessing is throttled."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def recent(self, channel: str, chat_id: str, *, since: datetime) -> list[datetime]:
        """When this chat sent a wrong code since `since`, oldest first."""
        query = (
            select(CodeAttempt.at)
            .where(CodeAttempt.chat_hash == chat_hash(channel, chat_id), CodeAttempt.at > since)
            .order_by(CodeAttempt.at)
        )
        return list((await self.s.scalars(query)).all())

    async def add(self, channel: str, chat_id: str, *, now: datetime) -> None:
        self.s.add(CodeAttempt(chat_hash=chat_hash(channel, chat_id), at=now))
        await self.s.flush()

    async def delete_before(self, cutoff: datetime) -> int:
        """Forget attempts that no longer count, of every chat."""
        result = await self.s.execute(delete(CodeAttempt).where(CodeAttempt.at <= cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def forget(self, channel: str, chat_id: str) -> None:
        await self.s.execute(
            delete(CodeAttempt).where(CodeAttempt.chat_hash == chat_hash(channel, chat_id))
        )
