"""What the CLI does, as async functions over a unit of work (no printing here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.db.models import Counselor, Student
from bot.db.states import CodeKind
from bot.engine.core import Engine
from bot.engine.outbox_writer import enqueue
from handlers import counselor as counselor_handlers
from handlers.digest.build import Digest, build_digest
from handlers.digest.roster import StudentRow, student_rows
from handlers.export import student_export
from handlers.privacy import forget_student


class AdminError(Exception):
    """A CLI request that cannot be done (unknown id, another counselor's student, ...)."""


async def _counselor(uow: Any, counselor_id: int) -> Counselor:
    counselor = await uow.counselors.get(counselor_id)
    if counselor is None:
        raise AdminError(f"no counselor with id {counselor_id}")
    return counselor


async def _own_student(uow: Any, counselor: Counselor, student_id: int) -> Student:
    student = await uow.students.of_counselor(counselor.id, student_id)
    if student is None:
        raise AdminError(f"counselor {counselor.id} has no student with id {student_id}")
    return student


async def add_counselor(
    engine: Engine, *, name: str, locale: str, is_admin: bool
) -> tuple[int, str]:
    """Create a counselor and a link code for their chat account."""
    async with engine.db.uow() as uow:
        now = engine.clock.now()
        counselor = await uow.counselors.add(
            name=name, locale=locale, is_admin=is_admin, timezone=engine.settings.timezone, now=now
        )
        code = await uow.codes.create(
            kind=CodeKind.LINK,
            counselor_id=counselor.id,
            label=name,
            now=now,
            ttl=timedelta(days=engine.settings.code_ttl_days),
        )
        await uow.audit.record(
            at=now, actor="cli", action="counselor.added", subject=f"counselor:{counselor.id}"
        )
        await uow.commit()
        return counselor.id, code


async def list_counselors(engine: Engine) -> list[dict[str, Any]]:
    """Every counselor: id, name, language, zone, linked chat apps, students, removed."""
    async with engine.db.uow() as uow:
        students = await uow.students.count_by_counselor()
        rows = []
        for counselor in await uow.counselors.all():
            accounts = await uow.accounts.of_counselor(counselor.id)
            rows.append(
                {
                    "id": counselor.id,
                    "name": counselor.name,
                    "locale": counselor.locale,
                    "timezone": counselor.timezone,
                    "admin": counselor.is_admin,
                    "linked": sorted({a.channel for a in accounts}),
                    "students": students.get(counselor.id, 0),
                    "removed_at": counselor.removed_at.isoformat()
                    if counselor.removed_at
                    else None,
                }
            )
        return rows


async def relink_counselor(engine: Engine, *, counselor_id: int) -> str:
    """Unlink the counselor's chat accounts (a lost phone) and make a new link code."""
    async with engine.db.uow() as uow:
        counselor = await _counselor(uow, counselor_id)
        if counselor.removed_at is not None:
            raise AdminError(f"counselor {counselor_id} was removed")
        now = engine.clock.now()
        unlinked = await uow.accounts.delete_of_counselor(counselor.id)
        await uow.codes.revoke_unused(counselor.id, now=now, kind=CodeKind.LINK)
        code = await uow.codes.create(
            kind=CodeKind.LINK,
            counselor_id=counselor.id,
            label=counselor.name,
            now=now,
            ttl=timedelta(days=engine.settings.code_ttl_days),
        )
        await uow.audit.record(
            at=now,
            actor="cli",
            action="counselor.relinked",
            subject=f"counselor:{counselor.id}",
            unlinked=unlinked,
        )
        await uow.commit()
        return code


async def remove_counselor(
    engine: Engine, *, counselor_id: int, hand_over_to: int | None
) -> dict[str, Any]:
    """Unlink the counselor's chat accounts, revoke their codes, and keep their students
    with them (readable from the CLI) or hand them over to another counselor."""
    async with engine.db.uow() as uow:
        counselor = await _counselor(uow, counselor_id)
        if counselor.removed_at is not None:
            raise AdminError(f"counselor {counselor_id} was already removed")
        if hand_over_to is not None:
            if hand_over_to == counselor_id:
                raise AdminError("hand the students over to another counselor")
            heir = await _counselor(uow, hand_over_to)
            if heir.removed_at is not None:
                raise AdminError(f"counselor {hand_over_to} was removed")
        now = engine.clock.now()
        unlinked = await uow.accounts.delete_of_counselor(counselor.id)
        revoked = await uow.codes.revoke_unused(counselor.id, now=now, kind=None)
        moved = (
            await uow.students.hand_over(counselor.id, hand_over_to)
            if hand_over_to is not None
            else 0
        )
        counselor.removed_at = now
        await uow.audit.record(
            at=now,
            actor="cli",
            action="counselor.removed",
            subject=f"counselor:{counselor.id}",
            unlinked=unlinked,
            codes_revoked=revoked,
            students_handed_over=moved,
            to=hand_over_to,
        )
        await uow.commit()
        return {
            "id": counselor.id,
            "unlinked_accounts": unlinked,
            "codes_revoked": revoked,
            "students_handed_over": moved,
            "to": hand_over_to,
        }


async def create_invite(engine: Engine, *, counselor_id: int, label: str) -> str:
    async with engine.db.uow() as uow:
        if (await _counselor(uow, counselor_id)).removed_at is not None:
            raise AdminError(f"counselor {counselor_id} was removed")
        now = engine.clock.now()
        code = await uow.codes.create(
            kind=CodeKind.INVITE,
            counselor_id=counselor_id,
            label=label,
            now=now,
            ttl=timedelta(days=engine.settings.code_ttl_days),
        )
        await uow.commit()
        return code


def join_link(engine: Engine, code: str) -> str | None:
    """The Telegram link that opens the bot with this code (when the bot's username is set)."""
    template = engine.links.get("telegram")
    return template.format(code=code) if template else None


async def list_students(engine: Engine, *, counselor_id: int) -> list[StudentRow]:
    """The counselor's students: language, status, last answer, open flags."""
    async with engine.db.uow() as uow:
        counselor = await _counselor(uow, counselor_id)
        ctx = engine.context(uow)
        ctx.counselor, ctx.locale = counselor, counselor.locale
        return await student_rows(ctx, counselor)


async def log_session(
    engine: Engine, *, counselor_id: int, student_id: int, topics: list[str]
) -> dict[str, Any]:
    known = {t.id for t in engine.prompts.topics}
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise AdminError(f"unknown topic {unknown[0]!r}; known: {', '.join(sorted(known))}")
    async with engine.db.uow() as uow:
        counselor = await _counselor(uow, counselor_id)
        student = await _own_student(uow, counselor, student_id)
        ctx = engine.context(uow)
        ctx.counselor, ctx.locale = counselor, counselor.locale
        replies = await counselor_handlers.log_session(ctx, student, topics)
        # The counselor's own note is for the CLI to print; the student's messages are queued.
        to_student = [r for r in replies if r.to is not None]
        due_now = await enqueue(uow, to_student, now=ctx.now)
        await uow.commit()
    await engine._send(due_now)
    return {
        "student_id": student_id,
        "topics": topics,
        "queued_messages": len(to_student),
        "note": replies[-1].text,
    }


async def digest(
    engine: Engine, *, counselor_id: int, since: datetime | None, mark_read: bool = False
) -> Digest:
    async with engine.db.uow() as uow:
        counselor = await _counselor(uow, counselor_id)
        ctx = engine.context(uow)
        ctx.counselor, ctx.locale = counselor, counselor.locale
        built = await build_digest(ctx, counselor, since=since)
        if mark_read:
            counselor.last_digest_at = ctx.now
        await uow.audit.record(
            at=ctx.now,
            actor=f"counselor:{counselor_id}",
            action="digest.viewed",
            students=[s.id for s in built.students],
            via="cli",
        )
        await uow.commit()
        return built


async def export_student(
    engine: Engine, *, student_id: int, counselor_id: int | None
) -> dict[str, Any]:
    async with engine.db.uow() as uow:
        if counselor_id is not None:
            await _own_student(uow, await _counselor(uow, counselor_id), student_id)
        try:
            data = await student_export(
                uow,
                student_id,
                question_text=lambda qid: engine.prompts.question(qid).text,
                now=engine.clock.now(),
            )
        except LookupError as exc:
            raise AdminError(str(exc)) from None
        await uow.audit.record(
            at=engine.clock.now(),
            actor="cli",
            action="data.exported",
            subject=f"student:{student_id}",
            via="cli",
            counselor=counselor_id,
        )
        await uow.commit()
        return data


async def forget(engine: Engine, *, student_id: int, counselor_id: int | None) -> None:
    async with engine.db.uow() as uow:
        student = await uow.students.get(student_id)
        if student is None:
            raise AdminError(f"no student with id {student_id}")
        if counselor_id is not None:
            await _own_student(uow, await _counselor(uow, counselor_id), student_id)
        await forget_student(engine.context(uow), student_id, actor="cli")
        await uow.commit()  # and scrubs the database files (see bot/db/scrub.py)


async def outbox_status(engine: Engine) -> dict[str, Any]:
    """Counts per status, rows being sent, the next due times, and the latest failures
    (channel, attempts and error only: never the text)."""
    async with engine.db.uow() as uow:
        now = engine.clock.now()
        counts = await uow.outbox.counts()
        due = await uow.outbox.next_due()
        failed = [
            {
                "id": row.id,
                "channel": row.channel,
                "attempts": row.attempts,
                "error": row.last_error,
                "retryable": row.payload is not None,
                "created_at": row.created_at.isoformat(),
            }
            for row in await uow.outbox.failed()
        ]
        return {
            "counts": counts,
            "in_flight": await uow.outbox.in_flight(now),
            "next_due": [d.isoformat() for d in due],
            "failed": failed,
        }


async def outbox_retry(engine: Engine) -> int:
    """Queue failed messages again (those whose text is still kept), due now."""
    async with engine.db.uow() as uow:
        n = await uow.outbox.retry_failed(engine.clock.now())
        await uow.audit.record(at=engine.clock.now(), actor="cli", action="outbox.retried", rows=n)
        await uow.commit()
        return n


async def inbox_status(engine: Engine) -> dict[str, Any]:
    """Failed and pending events: id, channel, kind, status, age, attempts and the error's
    type. Never what anyone wrote."""
    async with engine.db.uow() as uow:
        now = engine.clock.now()
        counts = await uow.inbox.unhandled_counts()
        events = [
            {
                "id": row.id,
                "channel": row.channel,
                # A pending update is stored as the platform sent it: no kind yet.
                "kind": row.payload.get("kind") if row.payload is not None else None,
                "status": row.status,
                "age_seconds": int((now - row.received_at).total_seconds()),
                "attempts": row.attempts,
                "error": row.last_error or None,
                "retryable": row.status == "failed" and row.payload is not None,
                "received_at": row.received_at.isoformat(),
            }
            for row in await uow.inbox.unhandled()
        ]
        return {
            "counts": {"failed": counts.get("failed", 0), "pending": counts.get("pending", 0)},
            "events": events,
        }


async def inbox_retry(engine: Engine, *, event_id: int | None = None) -> list[int]:
    """Queue failed events again (one, or all); the running bot handles them on its next
    tick, or at its next start."""
    async with engine.db.uow() as uow:
        ids = await uow.inbox.retry_failed(event_id)
        if event_id is not None and not ids:
            raise AdminError(f"no failed event with id {event_id} that can be retried")
        await uow.audit.record(
            at=engine.clock.now(), actor="cli", action="inbox.retried", rows=len(ids)
        )
        await uow.commit()
        return ids
