"""Failures are visible: a handler that raises tells the person their message is kept, the
event waits as failed, `furikaeri inbox` shows it, and `furikaeri inbox retry` handles it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.engine.context import Context
from bot.engine.core import APOLOGY
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Reply
from bot.i18n import translator
from handlers import admin
from handlers import handle as route_event
from tests.harness import Harness

SECRET = "my visa expires in May"  # what the student wrote: never in the admin's output


class Flaky:
    """The real router, except that free text raises while `broken` (a bug in a handler)."""

    def __init__(self) -> None:
        self.broken = False

    async def __call__(self, event: Inbound, ctx: Context) -> list[Reply]:
        if self.broken and event.kind is Kind.TEXT:
            raise RuntimeError("a bug in a handler")
        return await route_event(event, ctx)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
async def harness(database_url: str, flaky: Flaky) -> AsyncIterator[Harness]:
    h = await Harness.create(database_url, handle=flaky)
    try:
        yield h
    finally:
        await h.close()


async def _student_in_a_reflection(harness: Harness, locale: str = "en") -> int:
    """A student whose first reflection question waits for a written answer."""
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", locale=locale)
    await harness.session(counselor, student_id)
    return student_id


async def _answers(harness: Harness, student_id: int) -> list[str]:
    async with harness.engine.db.uow() as uow:
        return [a.text for a in await uow.answers.of_student(student_id) if a.text]


async def test_a_failing_handler_says_sorry_in_the_persons_language_and_keeps_the_event(
    harness: Harness, flaky: Flaky
) -> None:
    student_id = await _student_in_a_reflection(harness, locale="ja")
    flaky.broken = True
    got = await harness.say("s1", SECRET)
    assert [r.text for r in got] == [translator("ja")._(APOLOGY)]
    assert await _answers(harness, student_id) == []
    status = await admin.inbox_status(harness.engine)
    assert status["counts"] == {"failed": 1, "pending": 0}
    [event] = status["events"]
    assert (event["kind"], event["status"], event["attempts"]) == ("text", "failed", 1)
    assert event["error"] == "RuntimeError" and event["retryable"] is True

    # Still broken: a retry fails again, quietly (the person was told once).
    await admin.inbox_retry(harness.engine)
    await harness.engine.process_pending()
    assert harness.texts("s1")[-1] == translator("ja")._(APOLOGY)
    assert harness.texts("s1").count(translator("ja")._(APOLOGY)) == 1
    status = await admin.inbox_status(harness.engine)
    assert status["events"][0]["attempts"] == 2

    # The cause is gone: the retry stores the answer and the next question goes out.
    flaky.broken = False
    await admin.inbox_retry(harness.engine, event_id=event["id"])
    await harness.engine.process_pending()
    assert await _answers(harness, student_id) == [SECRET]
    assert "(2/7)" in harness.texts("s1")[-1]
    assert (await admin.inbox_status(harness.engine))["events"] == []


async def test_a_stranger_gets_the_apology_in_their_platforms_language(
    harness: Harness, flaky: Flaky
) -> None:
    flaky.broken = True
    got = await harness.say("x1", "hello?", locale_hint="vi")
    assert [r.text for r in got] == [translator("vi")._(APOLOGY)]


async def test_other_events_of_the_person_still_work_while_one_is_failed(
    harness: Harness, flaky: Flaky
) -> None:
    await _student_in_a_reflection(harness)
    flaky.broken = True
    await harness.say("s1", SECRET)
    journal = await harness.say("s1", "/journal")  # a command, not free text: handled
    assert journal and journal[0].text != translator("en")._(APOLOGY)


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FURIKAERI_DATABASE_URL": database_url,
        "FURIKAERI_DEFAULT_LOCALE": "en",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
async def test_the_admin_lists_and_retries_failed_events_from_the_command_line(
    harness: Harness, flaky: Flaky, database_url: str
) -> None:
    student_id = await _student_in_a_reflection(harness)
    flaky.broken = True
    await harness.say("s1", SECRET)
    harness.clock.advance(timedelta(hours=3))
    # One more, received but not yet handled (as if the process stopped right there).
    waiting = harness.event("s1", "still waiting")
    async with harness.engine.db.uow() as uow:
        await uow.inbox.add(
            channel="test",
            event_id=waiting.event_id,
            sender="test:s1",
            payload=waiting.to_json(),
            now=harness.clock.now(),
        )
        await uow.commit()

    listed = _cli(database_url, "inbox", "--json")
    assert listed.returncode == 0, listed.stderr
    assert SECRET not in listed.stdout and "still waiting" not in listed.stdout
    status = json.loads(listed.stdout)
    assert status["counts"] == {"failed": 1, "pending": 1}
    failed, pending = status["events"]
    assert {k: failed[k] for k in ("channel", "kind", "status", "attempts", "error")} == {
        "channel": "test",
        "kind": "text",
        "status": "failed",
        "attempts": 1,
        "error": "RuntimeError",
    }
    assert (pending["status"], pending["attempts"]) == ("pending", 0)
    assert failed["age_seconds"] - pending["age_seconds"] == 3 * 3600  # received 3 h apart

    text = _cli(database_url, "inbox")
    assert f"#{failed['id']} test text failed" in text.stdout
    assert "furikaeri inbox retry" in text.stdout and SECRET not in text.stdout

    unknown = _cli(database_url, "inbox", "retry", "9999")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        "furikaeri: no failed event with id 9999 that can be retried"
    ]

    flaky.broken = False
    retried = _cli(database_url, "inbox", "retry", str(failed["id"]), "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {"requeued": [failed["id"]]}
    await harness.engine.process_pending()  # what the running bot's inbox tick does
    assert await _answers(harness, student_id) == [SECRET, "still waiting"]  # in their order
    after = json.loads(_cli(database_url, "inbox", "--json").stdout)
    assert after == {"counts": {"failed": 0, "pending": 0}, "events": []}
