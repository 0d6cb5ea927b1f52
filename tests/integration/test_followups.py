"""Between sessions, on a controllable clock: offsets, the send window, cancellation, pause,
resume, stop, one reminder, expiry, the scheduled digest, and APScheduler's missed ticks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.bootstrap import scheduled_jobs
from bot.db.models import Counselor, Run
from bot.engine.events import Kind
from bot.i18n import translator
from bot.prompts import SendWindow, pick_variant
from bot.scheduling.jobs import register_jobs
from bot.scheduling.window import in_window, last_weekly, next_window_start
from handlers import digest_push, followups
from tests.harness import Harness, seed_consented_students

t = translator("en")
REMINDER = t._("A reminder: this question is still open.")
MINUTE = timedelta(minutes=1)


def schedule_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "schedule.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
async def fast(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    """A deployment whose schedule runs in seconds (durations are ISO 8601)."""
    path = schedule_file(
        tmp_path,
        """
reflection_delay: PT30S
followups:
  - set: work_life
    after: PT90S
send_window: null
reminder_after: PT20S
expire_after: PT60S
digest_push: null
""",
    )
    h = await Harness.create(database_url, schedule_file=path)
    try:
        yield h
    finally:
        await h.close()


def intro(h: Harness, set_id: str) -> str:
    return t._(h.engine.prompts.sets[set_id].intro)


def count(h: Harness, user: str, needle: str) -> int:
    return sum(needle in text for text in h.texts(user))


async def finish_run(h: Harness, user: str) -> None:
    """Skip every question of the open run."""
    while any(b.data.endswith(":skip") for b in h.last(user).buttons):
        await h.press(user, "Skip")


async def run_states(h: Harness, student_id: int) -> list[tuple[str, str]]:
    async with h.engine.db.uow() as uow:
        return [(r.set_id, r.state) for r in await uow.runs.of_student(student_id)]


# -- offsets ----------------------------------------------------------------------------


async def test_followups_arrive_two_and_five_days_after_the_session(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    assert intro(harness, "reflection") in harness.texts("s1")
    await finish_run(harness, "s1")

    await harness.advance(timedelta(days=2) - MINUTE)
    assert intro(harness, "work_life") not in harness.texts("s1")
    await harness.advance(2 * MINUTE)
    assert harness.texts("s1")[-2] == intro(harness, "work_life")
    assert harness.texts("s1")[-1].startswith("(1/")
    await finish_run(harness, "s1")

    await harness.advance(timedelta(days=3) - 2 * MINUTE)
    assert intro(harness, "inner_outer") not in harness.texts("s1")
    await harness.advance(2 * MINUTE)
    assert harness.texts("s1")[-2] == intro(harness, "inner_outer")
    assert await run_states(harness, student_id) == [
        ("reflection", "done"),
        ("work_life", "done"),
        ("inner_outer", "active"),
    ]


async def test_a_schedule_in_seconds_delays_reminds_and_expires(fast: Harness) -> None:
    counselor = await fast.counselor()
    student_id = await fast.student(counselor, "s1")
    await fast.session(counselor, student_id)
    assert fast.texts(counselor.user)[-1].endswith(
        t._("The questions will be sent when the student can receive them.")
    )
    before = len(fast.texts("s1"))

    await fast.advance(timedelta(seconds=29))
    assert len(fast.texts("s1")) == before  # the reflection is due 30 s after the session
    await fast.advance(timedelta(seconds=2))
    assert fast.texts("s1")[before] == intro(fast, "reflection")

    await fast.advance(timedelta(seconds=19))
    assert count(fast, "s1", REMINDER) == 0
    await fast.advance(timedelta(seconds=2))
    assert count(fast, "s1", REMINDER) == 1

    # Asked at 31 s, it expires at 91 s; the work_life run (due at 90 s) then starts.
    await fast.advance(timedelta(seconds=38))
    assert intro(fast, "work_life") not in fast.texts("s1")
    await fast.advance(timedelta(seconds=2))
    assert fast.texts("s1")[-2] == intro(fast, "work_life")
    assert await run_states(fast, student_id) == [
        ("reflection", "expired"),
        ("work_life", "active"),
    ]


# -- the send window --------------------------------------------------------------------


async def test_the_window_opens_at_each_students_own_nine_oclock(
    database_url: str, tmp_path: Path
) -> None:
    path = schedule_file(
        tmp_path,
        """
reflection_delay: PT0S
followups:
  - set: work_life
    after: PT1H
send_window: {start: "09:00", end: "21:00"}
reminder_after: null
expire_after: P7D
""",
    )
    h = await Harness.create(database_url, schedule_file=path)
    try:
        h.clock.set(datetime(2026, 4, 5, 23, 30, tzinfo=UTC))  # Tokyo 08:30, Kathmandu 05:15
        counselor = await h.counselor()
        tokyo = await h.student(counselor, "tokyo")
        kathmandu = await h.student(counselor, "ktm")
        await h.say("ktm", "/timezone Asia/Kathmandu")
        for student_id, user in ((tokyo, "tokyo"), (kathmandu, "ktm")):
            await h.session(counselor, student_id)  # the counselor is with them: sent now
            await finish_run(h, user)

        await h.advance(timedelta(minutes=61))  # 00:31 UTC: Tokyo 09:31, Kathmandu 06:16
        assert h.texts("tokyo")[-2] == intro(h, "work_life")
        assert intro(h, "work_life") not in h.texts("ktm")
        async with h.engine.db.uow() as uow:
            runs = await uow.runs.of_student(kathmandu)
            waiting = [r.due_at for r in runs if r.state == "scheduled"]
        assert waiting == [datetime(2026, 4, 6, 3, 15, tzinfo=UTC)]  # 09:00 in Kathmandu

        await h.advance(timedelta(hours=2, minutes=43))  # 03:14 UTC: Kathmandu 08:59
        assert intro(h, "work_life") not in h.texts("ktm")
        await h.advance(2 * MINUTE)  # Kathmandu 09:01
        assert h.texts("ktm")[-2] == intro(h, "work_life")
    finally:
        await h.close()


async def test_a_window_across_midnight_waits_for_the_evening(
    database_url: str, tmp_path: Path
) -> None:
    path = schedule_file(
        tmp_path,
        """
reflection_delay: PT0S
followups:
  - set: work_life
    after: PT2H
send_window: {start: "22:00", end: "06:00"}
reminder_after: null
expire_after: P7D
""",
    )
    h = await Harness.create(database_url, schedule_file=path)
    try:
        counselor = await h.counselor()  # Monday 10:00 in Tokyo
        student_id = await h.student(counselor, "s1")
        await h.session(counselor, student_id)
        await finish_run(h, "s1")
        await h.advance(timedelta(hours=2, minutes=1))  # 12:01: due, but the window is shut
        await h.advance(timedelta(hours=9, minutes=57))  # 21:58
        assert intro(h, "work_life") not in h.texts("s1")
        await h.advance(3 * MINUTE)  # 22:01
        assert h.texts("s1")[-2] == intro(h, "work_life")
    finally:
        await h.close()


def test_window_arithmetic_across_midnight_and_zones() -> None:
    night = SendWindow(start=time(22, 0), end=time(6, 0))
    at = datetime(2026, 4, 6, 17, 0, tzinfo=UTC)  # Tokyo 02:00, Kathmandu 22:45
    assert in_window(at, "Asia/Tokyo", night)
    assert in_window(at, "Asia/Kathmandu", night)
    assert not in_window(at, "Asia/Tokyo", SendWindow(start=time(9), end=time(21)))
    morning = datetime(2026, 4, 6, 21, 0, tzinfo=UTC)  # Tokyo 06:00: the end is not inside
    assert not in_window(morning, "Asia/Tokyo", night)
    assert next_window_start(morning, "Asia/Tokyo", night) == datetime(
        2026, 4, 7, 13, 0, tzinfo=UTC
    )
    # Monday 09:00 Kathmandu is Monday 03:15 UTC; on Sunday the latest is the Monday before.
    monday = datetime(2026, 4, 6, 3, 15, tzinfo=UTC)
    assert last_weekly(monday, "Asia/Kathmandu", 0, time(9)) == monday
    assert last_weekly(monday - MINUTE, "Asia/Kathmandu", 0, time(9)) == monday - timedelta(days=7)


# -- a new session ----------------------------------------------------------------------


async def test_a_new_session_cancels_pending_runs_and_their_queued_messages(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    harness.channel.held.add("s1")  # the network to the student fails for now
    await harness.advance(timedelta(hours=24, minutes=1))  # the reminder waits in the outbox
    async with harness.engine.db.uow() as uow:
        assert (await uow.outbox.counts()).get("pending") == 1

    await harness.session(counselor, student_id)  # the next session, a day later
    assert [s for s in await run_states(harness, student_id) if s[1] != "cancelled"] == [
        ("reflection", "active"),
        ("work_life", "scheduled"),
        ("inner_outer", "scheduled"),
    ]
    harness.channel.held.clear()
    before = len(harness.texts("s1"))
    await harness.advance(timedelta(seconds=61))
    fresh = harness.texts("s1")[before:]
    assert fresh[0] == intro(harness, "reflection") and fresh[1].startswith("(1/")
    assert not any(REMINDER in text for text in fresh)  # the old reminder was cancelled

    await finish_run(harness, "s1")
    await harness.advance(timedelta(days=1))  # the first session's work_life was due now
    assert intro(harness, "work_life") not in harness.texts("s1")
    await harness.advance(timedelta(days=1))  # two days after the second session
    assert count(harness, "s1", intro(harness, "work_life")) == 1


# -- pause, resume, stop ----------------------------------------------------------------


async def test_pause_for_days_holds_follow_ups_until_it_ends(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await finish_run(harness, "s1")
    assert (await harness.say("s1", "/pause 3"))[-1].text == t.ngettext(
        "Paused for {n} day. Send /resume to continue earlier.",
        "Paused for {n} days. Send /resume to continue earlier.",
        3,
    )
    await harness.advance(timedelta(days=2, minutes=1))  # work_life is due, but paused
    await harness.advance(timedelta(hours=23, minutes=58))
    assert intro(harness, "work_life") not in harness.texts("s1")
    await harness.advance(2 * MINUTE)  # three days are over
    assert harness.texts("s1")[-2] == intro(harness, "work_life")


async def test_resume_starts_what_became_due_during_the_pause(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await finish_run(harness, "s1")
    await harness.say("s1", "/pause")
    await harness.advance(timedelta(days=2, hours=1))
    assert intro(harness, "work_life") not in harness.texts("s1")
    replies = [r.text for r in await harness.say("s1", "/resume")]
    assert replies[0] == t._("Welcome back. I will send you questions again.")
    assert replies[1] == intro(harness, "work_life")


async def test_pause_arguments_are_checked(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1")
    usage = (await harness.say("s1", "/pause soon"))[-1].text
    assert "/pause DAYS" in usage
    assert "90 days" in (await harness.say("s1", "/pause 500"))[-1].text


async def test_stop_ends_reminders_and_follow_ups_until_resume(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    question = harness.texts("s1")[-1]
    await harness.say("s1", "/stop")
    sent = len(harness.texts("s1"))
    await harness.advance(timedelta(days=1, minutes=1))
    await harness.advance(timedelta(days=2))
    assert len(harness.texts("s1")) == sent  # no reminder, no follow-up
    replies = [r.text for r in await harness.say("s1", "/resume")]
    # The open question, asked again: days later it names the session's day, not "today".
    assert replies[-1] == question.replace("today's session", "your session on April 6")


async def test_unfollow_cancels_queued_messages_and_follow_asks_again(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    question = harness.texts("s1")[-1]
    harness.channel.held.add("s1")
    await harness.advance(timedelta(hours=24, minutes=1))  # a reminder waits in the outbox
    harness.channel.held.clear()
    await harness.send(harness.event("s1", kind=Kind.UNFOLLOW))
    await harness.advance(timedelta(minutes=5))
    assert count(harness, "s1", REMINDER) == 0
    async with harness.engine.db.uow() as uow:
        assert (await uow.outbox.counts()).get("pending", 0) == 0
    replies = [r.text for r in await harness.send(harness.event("s1", kind=Kind.FOLLOW))]
    assert replies[-1] == question.replace("today's session", "your session on April 6")


async def test_timezone_is_checked_and_kept(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    shown = await harness.say("s1", "/timezone")
    assert "Asia/Kathmandu" in [b.label for b in shown[-1].buttons]
    assert "Mars/Base" in (await harness.say("s1", "/timezone Mars/Base"))[-1].text
    await harness.press("s1", "Asia/Kathmandu")
    async with harness.engine.db.uow() as uow:
        student = await uow.students.get(student_id)
        assert student is not None and student.timezone == "Asia/Kathmandu"


# -- reminder and expiry ----------------------------------------------------------------


async def test_exactly_one_reminder_per_unanswered_question(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    question = harness.texts("s1")[-1]
    await harness.advance(timedelta(hours=23, minutes=59))
    assert count(harness, "s1", REMINDER) == 0
    harness.clock.advance(2 * MINUTE)
    await asyncio.gather(*(harness.tick() for _ in range(3)))  # jobs racing remind once
    assert harness.texts("s1")[-1].startswith(REMINDER)
    assert question.splitlines()[0] in harness.texts("s1")[-1]  # "(1/7)"
    # A day later the question names the session's day instead of "today".
    assert "your session on April 6" in harness.texts("s1")[-1]
    for hours in (1, 6, 12, 24):
        await harness.advance(timedelta(hours=hours))
    assert count(harness, "s1", REMINDER) == 1
    await harness.press("s1", "Skip")  # Thursday 05:01 in Tokyo: the next question
    await harness.advance(timedelta(days=1, minutes=1))
    assert count(harness, "s1", REMINDER) == 1  # its reminder is due at night: it waits
    await harness.advance(timedelta(hours=4))  # Friday 09:02
    assert count(harness, "s1", REMINDER) == 2
    assert "(2/" in harness.texts("s1")[-1]


async def test_an_expired_question_shows_as_unanswered_in_the_digest(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    stale = harness.last("s1").buttons[0].data
    await harness.advance(timedelta(days=7, minutes=1))
    assert ("reflection", "expired") in await run_states(harness, student_id)
    assert harness.texts("s1")[-2] == intro(harness, "work_life")  # it may start now

    late = await harness.send(harness.event("s1", kind=Kind.CHOICE, data=stale))
    assert late[-1].text == t._("That question is already closed.")
    digest = "\n".join(m.text for m in await harness.say(counselor.user, "/digest"))
    assert t._("left questions unanswered") in digest
    assert t._("Not answered: {questions}", questions="") in digest

    # inner_outer (due day 5) cannot start before work_life closes on day 14: it expires.
    await harness.advance(timedelta(days=7))
    states = await run_states(harness, student_id)
    assert states[-2:] == [("work_life", "expired"), ("inner_outer", "expired")]
    assert intro(harness, "inner_outer") not in harness.texts("s1")


async def test_a_due_run_starts_once_when_jobs_and_resume_race(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await finish_run(harness, "s1")
    await harness.say("s1", "/pause")
    harness.clock.advance(timedelta(days=2, hours=1))
    await asyncio.gather(
        harness.say("s1", "/resume"),
        harness.engine.run_job(followups.start_due_runs),
        harness.engine.run_job(followups.start_due_runs),
    )
    await harness.app.dispatcher.tick()
    assert count(harness, "s1", intro(harness, "work_life")) == 1


# -- the scheduled digest ---------------------------------------------------------------


async def test_the_digest_is_pushed_once_a_week_in_each_counselors_time_zone(
    harness: Harness,
) -> None:
    tokyo = await harness.counselor("Sato")  # both join on Monday, 10:00 in Tokyo
    kathmandu = await harness.counselor("Rai")
    async with harness.engine.db.uow() as uow:
        rai = await uow.session.get(Counselor, kathmandu.id)
        assert rai is not None
        rai.timezone = "Asia/Kathmandu"  # where it is 06:45
        await uow.commit()
    for counselor, user in ((tokyo, "s1"), (kathmandu, "s2")):
        student_id = await harness.student(counselor, user)
        await harness.session(counselor, student_id)
        await harness.press(user, "Skip")
        await harness.say(user, f"what {user} noticed")

    async def push_at(moment: datetime) -> None:
        harness.clock.set(moment)
        await harness.engine.run_job(digest_push.push_digests)

    def pushed(counselor_user: str, text: str) -> int:
        return count(harness, counselor_user, text)

    await push_at(datetime(2026, 4, 6, 3, 14, tzinfo=UTC))  # Kathmandu 08:59
    assert pushed(kathmandu.user, "noticed") == 0
    await push_at(datetime(2026, 4, 6, 3, 16, tzinfo=UTC))  # Kathmandu 09:01
    await push_at(datetime(2026, 4, 6, 3, 17, tzinfo=UTC))
    assert pushed(kathmandu.user, "what s2 noticed") == 1  # once per period
    assert pushed(kathmandu.user, "s1") == 0  # a counselor sees only their own students
    assert pushed(tokyo.user, "noticed") == 0  # Tokyo's 09:00 was before Sato joined

    await push_at(datetime(2026, 4, 12, 23, 59, tzinfo=UTC))  # Tokyo: Monday 08:59
    assert pushed(tokyo.user, "noticed") == 0
    await push_at(datetime(2026, 4, 13, 0, 1, tzinfo=UTC))  # Tokyo 09:01
    assert pushed(tokyo.user, "what s1 noticed") == 1
    assert pushed(kathmandu.user, "noticed") == 1

    await harness.say("s2", "something new for Rai")
    await push_at(datetime(2026, 4, 14, 2, 0, tzinfo=UTC))  # down on Monday: sent on Tuesday
    await push_at(datetime(2026, 4, 14, 2, 1, tzinfo=UTC))
    assert pushed(kathmandu.user, "something new for Rai") == 1
    assert pushed(kathmandu.user, "what s2 noticed") == 1  # the digest shows only what is new
    async with harness.engine.db.uow() as uow:
        actions = [e.action for e in await uow.audit.entries()]
    assert actions.count("digest.pushed") == 3


# -- many students due at once ---------------------------------------------------------


async def test_the_scheduler_starts_many_follow_ups_in_committed_batches(harness: Harness) -> None:
    """120 students due at once: each batch of 50 is committed (and its messages sent) on
    its own, so no transaction holds the database while all of them are started."""
    harness.clock.set(datetime(2026, 4, 6, 12, 0, tzinfo=UTC))  # inside their send window (UTC)
    chats = tuple(f"due{n}" for n in range(120))
    _, students = await seed_consented_students(
        harness.app.db, harness.clock.now(), {"test": chats}
    )
    steps = harness.engine.prompts.sets["reflection"].steps
    async with harness.app.db.uow() as uow:
        for student_id in students.values():
            await uow.runs.add(
                student_id=student_id,
                session_id=None,
                set_id="reflection",
                questions=[pick_variant(step, []).id for step in steps],
                due_at=harness.clock.now(),
            )
        await uow.commit()
    started = intro(harness, "reflection")

    batches = followups.InBatches(followups.start_due_page, size=50)
    await harness.engine.run_job(batches)
    assert not batches.finished
    assert sorted((await run_counts(harness)).items()) == [("active", 50), ("scheduled", 70)]
    assert sum(harness.texts(chat).count(started) for chat in chats) == 50  # sent already

    while not batches.finished:
        await harness.engine.run_job(batches)
    assert await run_counts(harness) == {"active": 120}
    assert all(harness.texts(chat).count(started) == 1 for chat in chats)


async def run_counts(harness: Harness) -> dict[str, int]:
    """Runs by state, as another unit of work sees them (what is committed)."""
    async with harness.app.db.uow() as uow:
        states = (await uow.session.scalars(select(Run.state))).all()
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts


# -- APScheduler ------------------------------------------------------------------------


async def test_a_tick_missed_while_down_still_runs_once(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await finish_run(harness, "s1")
    harness.clock.advance(timedelta(days=2, hours=1))  # work_life fell due while "down"

    scheduler = AsyncIOScheduler(timezone="UTC")
    register_jobs(scheduler, scheduled_jobs(harness.app))
    register_jobs(scheduler, scheduled_jobs(harness.app))  # fixed ids: registering again replaces
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == ["digest_push", "dispatch", "followups", "followups_due", "retention"]
    assert all(j.misfire_grace_time is None and j.coalesce for j in jobs.values())
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    scheduler.modify_job("followups", next_run_time=an_hour_ago)  # 60 missed ticks

    runs: list[str] = []
    missed: list[str] = []
    scheduler.add_listener(lambda e: runs.append(e.job_id), EVENT_JOB_EXECUTED)
    scheduler.add_listener(lambda e: missed.append(e.job_id), EVENT_JOB_MISSED)
    scheduler.start()
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not {"followups", "digest_push", "retention"} <= set(runs):
            assert asyncio.get_running_loop().time() < deadline, "the missed tick did not run"
            await asyncio.sleep(0.02)
    finally:
        scheduler.shutdown(wait=False)
    assert runs.count("followups") == 1 and not missed
    assert count(harness, "s1", intro(harness, "work_life")) == 1
