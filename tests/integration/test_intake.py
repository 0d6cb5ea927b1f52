"""The intake: webhooks commit platform updates to the inbox by group commit (many requests,
one INSERT and one commit), duplicates are dropped there, and a worker handles them after.
/metrics shows the queues through the real HTTP app, and nothing personal."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.bootstrap import App, build, start, stop
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.models import InboxEvent
from bot.db.notify import Listener
from bot.engine.events import RawEvent
from handlers import admin
from tests.e2e.world import World, world_settings
from tests.fakes.line_api import LineApiFake, line_event_text, signed_body
from tests.fakes.server import LocalServer, Swappable
from tests.fakes.telegram_api import FakeTelegram
from tests.stored import rows_of, sqlite_bytes

USER = "U" + "5e" * 16
STUDENT = 4711


def raw(event_id: str, user: str = USER, text: str = "hello") -> RawEvent:
    body = line_event_text(user, text, event_id=event_id)
    return RawEvent(channel="line", event_id=event_id, sender=f"line:{user}", body=body)


@pytest.fixture
async def web_only(database_url: str) -> AsyncIterator[App]:
    """An app that takes events and never handles them (the web role's intake)."""
    settings = load_settings(database_url=database_url, default_locale="en", _env_file=None)
    app = build(settings, clock=ManualClock(), channels={}, role="web")
    await start(app, with_scheduler=False)
    try:
        yield app
    finally:
        await stop(app)


def count_statements(app: App) -> Callable[[], list[str]]:
    """The first word of every statement sent to the database from now on."""
    sent: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(" ".join(statement.split()[:3]).upper())

    event.listen(app.db.engine.sync_engine, "before_cursor_execute", on_execute)
    return lambda: sent


async def transactions_that_wrote_the_inbox(app: App) -> int:
    async with app.db.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(DISTINCT xmin::text) FROM inbox")) or 0)


async def test_concurrent_events_go_in_one_insert_and_a_duplicate_in_it_is_dropped(
    web_only: App,
) -> None:
    sent = count_statements(web_only)
    same = raw("E-SAME")
    others = [raw(f"E-{n}", user=f"U{n:032x}") for n in range(8)]

    results = await asyncio.gather(
        web_only.engine.accept([same]),
        web_only.engine.accept([same]),  # the same update twice in one batch
        *(web_only.engine.accept([o]) for o in others),
    )

    assert results[:2] == [[True], [False]]
    assert all(r == [True] for r in results[2:])
    # Ten requests, one statement: the INSERT, committed on its own (autocommit).
    if web_only.db.is_postgres:
        # asyncpg runs it directly, past SQLAlchemy's events: the rows tell instead, all
        # written by one transaction.
        assert await transactions_that_wrote_the_inbox(web_only) == 1
    else:
        assert sent() == ["INSERT INTO INBOX"]
    rows = await rows_of(web_only.db, InboxEvent)
    assert sorted(r.event_id for r in rows) == sorted(["E-SAME", *(o.event_id for o in others)])
    assert all(r.status == "pending" and r.payload == {"raw": r.payload["raw"]} for r in rows)


async def test_a_duplicate_in_a_later_batch_is_dropped(web_only: App) -> None:
    first = raw("E-1", text="first")
    assert await web_only.engine.accept([first]) == [True]
    again = raw("E-1", text="first, sent again")  # a redelivery: the key decides
    assert await web_only.engine.accept([again, raw("E-2")]) == [False, True]

    rows = await rows_of(web_only.db, InboxEvent)
    assert sorted(r.event_id for r in rows) == ["E-1", "E-2"]
    [kept] = [r for r in rows if r.event_id == "E-1"]
    assert kept.payload["raw"]["message"]["text"] == "first"


@pytest.fixture
async def line_world(
    make_world: Callable[..., Any],
    database_url: str,
    line: LineApiFake,
    line_server: tuple[LocalServer, Swappable],
) -> World:
    return await make_world(world_settings(database_url, line=line_server[0]), line=line)


async def test_the_same_webhook_twice_at_once_is_answered_once(
    line_world: World, line: LineApiFake
) -> None:
    assert line_world.client is not None
    event = line_event_text(USER, "/start", reply_token=line.issue_reply_token(USER))
    body, headers = signed_body([event], "e2e-line-channel-secret")

    responses = await asyncio.gather(
        *(line_world.client.post("/webhook/line", content=body, headers=headers) for _ in (1, 2))
    )
    await line_world.settle()

    assert [r.status_code for r in responses] == [200, 200]
    assert len(line.all_messages(USER)) == 1  # how to join, once
    [row] = await line_world.rows(InboxEvent)
    assert (row.status, row.payload) == ("done", None)  # handled, and nothing kept


async def test_metrics_show_the_queues_and_the_handling_and_nothing_personal(
    line_world: World, line: LineApiFake, database_url: str
) -> None:
    assert line_world.client is not None
    secret_words = "my visa expires in May 7f3a"
    await line_world.line_say(USER, secret_words)
    line.fail_next("reply", 500)
    line.fail_next("push", 500)  # the answer to the second message waits for a retry
    await line_world.line_say(USER, "and again 2b4e")

    # A second process that only takes events (the web role) leaves one waiting.
    settings = load_settings(**world_settings(database_url))
    intake = build(settings, clock=line_world.clock, channels={}, role="web")
    await start(intake, migrate=False, with_scheduler=False)
    try:
        await intake.engine.accept([raw("E-WAIT", user="U" + "77" * 16, text="waiting 91c2")])
    finally:
        await stop(intake)
    line_world.clock.advance(timedelta(seconds=90))

    response = await line_world.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert value(text, "furikaeri_inbox_pending") == 1
    assert value(text, "furikaeri_inbox_oldest_pending_age_seconds") == 90
    assert value(text, 'furikaeri_events_handled_total{channel="line",outcome="done"}') == 2
    assert value(text, 'furikaeri_inbox_received_total{channel="line",outcome="new"}') == 2
    assert value(text, 'furikaeri_event_handling_seconds_count{channel="line"}') == 2
    assert value(text, 'furikaeri_outbox_pending{channel="line"}') == 1
    assert value(text, "furikaeri_translation_backlog") == 0
    for sends in ("messages_sent", "send_rate_limited", "send_failures"):  # the dispatcher's
        assert f'furikaeri_{sends}_total{{channel="line"}} ' in text
    for personal in (USER, "U" + "77" * 16, "7f3a", "2b4e", "91c2", "visa"):
        assert personal not in text


def value(text: str, name: str) -> float:
    """The value of one sample in Prometheus' text format."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name} not in /metrics"
    return float(match.group(1))


async def test_names_and_shared_contacts_are_never_stored(
    both_channels: World, tg: FakeTelegram, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("reads the SQLite files")
    world = both_channels
    counselor_id, _ = await world.add_counselor("Sato")
    code = await admin.create_invite(world.running.engine, counselor_id=counselor_id, label="L")
    await world.tg_say(STUDENT, f"/start {code}")
    await world.tg_press(STUDENT, "Continue")
    await world.tg_press(STUDENT, "I agree")  # consented: what they type is kept, no wipe

    update = tg.text_update(STUDENT, "an answer")
    update["message"]["from"].update(first_name="Hanako-7e1d", last_name="Sato-3c9f")
    update["message"]["chat"].update(first_name="Hanako-7e1d", username="hanako_5b2a")
    await world.tg_deliver(update)
    shared = tg.media_update(STUDENT, "contact")
    shared["message"]["contact"].update(phone_number="+81-90-5555-0199", first_name="Friend-8d1e")
    await world.tg_deliver(shared)

    raw = sqlite_bytes(database_url)
    assert b"an answer" in raw  # kept, as it should be: the student agreed
    for personal in (b"Hanako-7e1d", b"Sato-3c9f", b"hanako_5b2a", b"5555-0199", b"Friend-8d1e"):
        assert personal not in raw, personal


async def test_the_admin_sees_events_waiting_as_the_platform_sent_them(web_only: App) -> None:
    await web_only.engine.accept([raw("E-1", text="private words 4c1d")])
    status = await admin.inbox_status(web_only.engine)
    assert status["counts"] == {"failed": 0, "pending": 1}
    [row] = status["events"]
    assert (row["channel"], row["kind"], row["status"]) == ("line", None, "pending")
    assert "4c1d" not in repr(status)


async def test_a_new_event_wakes_the_workers_of_other_processes(
    web_only: App, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one process")
    woke = asyncio.Event()
    listener = Listener(database_url, woke.set, name="furikaeri-test")
    assert await listener.connect()
    try:
        await asyncio.sleep(0.2)
        assert not woke.is_set()
        await web_only.engine.accept([raw("E-1")])
        await asyncio.wait_for(woke.wait(), 10)  # told, not found by a poll: none runs here
    finally:
        await listener.close()


async def open_pooled_connections(app: App, count: int) -> None:
    """Leave `count` connections in the app's pool (the intake's and the workers')."""
    held = [await app.db.engine.connect() for _ in range(count)]
    for conn in held:
        await conn.execute(text("SELECT 1"))
    for conn in held:
        await conn.close()


async def test_when_the_database_drops_the_intake_connection_the_next_write_takes_a_new_one(
    web_only: App, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's file has no connection to drop")
    assert await web_only.engine.accept([raw("E-1")]) == [True]
    await open_pooled_connections(web_only, 3)
    # The server ends this process's connections (a restart, a failover, an idle timeout).
    async with web_only.db.engine.connect() as conn:
        mine = f"% {os.getpid()}"
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE :mine AND pid <> pg_backend_pid()"
            ),
            {"mine": mine},
        )

    # A write on a dropped connection fails (the webhook answers 500 and the platform
    # sends it again); the one after it goes through on a new connection, not on another
    # of the dropped ones.
    attempts: list[object] = []
    for _ in range(2):
        try:
            attempts.append(await web_only.engine.accept([raw("E-2")]))
            break
        except Exception as exc:
            attempts.append(type(exc).__name__)
    assert attempts[-1] == [True], attempts
    rows = await rows_of(web_only.db, InboxEvent)
    assert sorted(r.event_id for r in rows) == ["E-1", "E-2"]
