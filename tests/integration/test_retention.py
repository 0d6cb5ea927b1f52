"""The daily purge: what is older than FURIKAERI_RETENTION_DAYS goes, what is newer stays,
and a purge killed half-way leaves nothing half-done for the next run to trip over."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.db.models import Answer, AuditEntry, Code, InboxEvent, OutboxMessage
from bot.engine.events import Inbound, Kind
from handlers import retention
from tests.harness import Harness
from tests.stored import rows_of, sqlite_bytes, stored_text

OLD = "an old reflection about my first interview 5e21"
NEW = "a recent reflection about the visa change 9b07"
ROOT = Path(__file__).resolve().parents[2]


async def _old_and_new(harness: Harness) -> int:
    """One answer 400 days old and one 10 days old, as the clock stands now."""
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await harness.say("s1", OLD)
    harness.clock.advance(timedelta(days=390))
    await harness.session(counselor, student_id)
    await harness.say("s1", NEW)
    harness.clock.advance(timedelta(days=10))
    return student_id


async def _texts(harness: Harness) -> list[str | None]:
    return [a.text for a in await rows_of(harness.engine.db, Answer)]


async def _an_unhandled_old_event(harness: Harness) -> None:
    """An event stored a year ago and never handled (say, the process died at once)."""
    event = Inbound(
        channel="test",
        event_id="stuck-1",
        kind=Kind.COMMAND,
        command="journal",
        text="/journal",
        user_id="s1",
        chat_id="s1",
        received_at=harness.clock.now() - timedelta(days=400),
    )
    async with harness.engine.db.uow() as uow:
        await uow.inbox.add(
            channel="test",
            event_id="stuck-1",
            sender="test:s1",
            payload=event.to_json(),
            now=event.received_at,
        )
        await uow.commit()


async def test_purge_removes_what_is_older_than_the_retention_period(harness: Harness) -> None:
    await _old_and_new(harness)
    await _an_unhandled_old_event(harness)
    await harness.engine.run_job(retention.purge)

    assert await _texts(harness) == [NEW]
    stored = await stored_text(harness.engine.db)
    assert OLD not in stored and NEW in stored
    inbox = await rows_of(harness.engine.db, InboxEvent)
    cutoff = harness.clock.now() - timedelta(days=365)
    assert all(e.received_at >= cutoff for e in inbox if e.status == "done")
    outbox = await rows_of(harness.engine.db, OutboxMessage)
    assert outbox and all(m.created_at >= cutoff or m.status == "pending" for m in outbox)
    [audit] = await rows_of(harness.engine.db, AuditEntry, action="retention.purged")
    assert audit.detail["answers"] == 1 and audit.detail["inbox_events"] > 0
    assert audit.detail["codes"] == 2 and await rows_of(harness.engine.db, Code) == []
    assert OLD not in json.dumps(audit.detail)

    # The event that was never handled kept what it needs, and is handled normally now.
    [stuck] = [e for e in inbox if e.event_id == "stuck-1"]
    assert stuck.status == "pending" and stuck.payload is not None
    await harness.engine.process_pending()
    assert NEW in harness.texts("s1")[-1]  # /journal answered, the new reflection in it


async def test_nothing_newer_than_the_cutoff_is_touched(harness: Harness) -> None:
    await _old_and_new(harness)
    await harness.engine.run_job(retention.purge)
    first = await stored_text(harness.engine.db)
    await harness.engine.run_job(retention.purge)
    audits = await rows_of(harness.engine.db, AuditEntry, action="retention.purged")
    assert [a.detail["answers"] for a in audits] == [1, 0]
    second = await stored_text(harness.engine.db)
    assert NEW in second and first.count(NEW) == second.count(NEW)


KILLED_PURGE = """
import asyncio, json, os, signal, sys
from datetime import datetime
from bot.bootstrap import build
from bot.clock import ManualClock
from bot.config import load_settings
from handlers import retention

async def main():
    settings = load_settings(database_url=sys.argv[1], default_locale="en", _env_file=None)
    app = build(settings, clock=ManualClock(datetime.fromisoformat(sys.argv[2])), channels={})
    async with app.db.uow() as uow:
        answers = await uow.answers.count()
        await retention.purge(app.engine.context(uow))
        print(json.dumps({"before": answers, "after": await uow.answers.count()}), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # the crash: after the deletes, before the commit

asyncio.run(main())
"""


async def test_a_purge_killed_before_its_commit_is_redone_by_the_next_run(
    harness: Harness, database_url: str
) -> None:
    await _old_and_new(harness)
    crashed = subprocess.run(
        [sys.executable, "-c", KILLED_PURGE, database_url, harness.clock.now().isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert json.loads(crashed.stdout) == {"before": 2, "after": 1}  # it had deleted, uncommitted

    assert await _texts(harness) == [OLD, NEW]  # rolled back: nothing half-done
    assert await rows_of(harness.engine.db, AuditEntry, action="retention.purged") == []

    await harness.engine.run_job(retention.purge)
    assert await _texts(harness) == [NEW]
    await harness.engine.run_job(retention.purge)  # and again: nothing more goes
    assert await _texts(harness) == [NEW]
    audits = await rows_of(harness.engine.db, AuditEntry, action="retention.purged")
    assert [a.detail["answers"] for a in audits] == [1, 0]


async def test_purged_answers_are_gone_from_the_sqlite_files(sqlite_url: str) -> None:
    harness = await Harness.create(sqlite_url)
    try:
        await _old_and_new(harness)
        assert OLD.encode() in sqlite_bytes(sqlite_url)
        await harness.engine.run_job(retention.purge)
        after = sqlite_bytes(sqlite_url)
        assert OLD.encode() not in after and NEW.encode() in after
    finally:
        await harness.close()


async def test_the_retention_period_is_a_setting(database_url: str) -> None:
    harness = await Harness.create(database_url, retention_days=5)
    try:
        counselor = await harness.counselor()
        student_id = await harness.student(counselor, "s1")
        await harness.session(counselor, student_id)
        await harness.say("s1", NEW)
        harness.clock.advance(timedelta(days=4))
        await harness.engine.run_job(retention.purge)
        assert await _texts(harness) == [NEW]
        harness.clock.advance(timedelta(days=2))
        await harness.engine.run_job(retention.purge)
        assert await _texts(harness) == []
    finally:
        await harness.close()
