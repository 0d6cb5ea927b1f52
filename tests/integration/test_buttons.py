"""Forged, mangled and stale button data, family by family, through the real engine: the
sender gets "That button is no longer valid." (or the family's own "closed" answer for a
question or a picker that was real but is over), nothing is stored, no event fails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.db.models import CounselingSession, InboxEvent
from bot.engine.events import Kind
from bot.i18n import translator
from handlers import COMMANDS
from tests.harness import Counselor, Harness
from tests.stored import kept_about_people, rows_of

INVALID = "That button is no longer valid."
CLOSED = "That question is already closed."
NO_LONGER_OPEN = "That choice is no longer open. Start again with /session."
# Data no family reads, or that no family could decode, whoever presses it.
MANGLED = ("", "-", ":", "zzz:1", "lang", "a", "ses", "x" * 400, "lang:日本語", "a:1:0:skip\n")


async def kept(harness: Harness) -> dict[str, list[dict[str, Any]]]:
    """What the bot keeps about people; the inbox and outbox hold the press itself and its
    (refusing) reply."""
    return await kept_about_people(harness.engine.db)


async def refused(harness: Harness, user: str, data: str, answer: str = INVALID) -> None:
    """Press `data` as `user`: one polite answer, nothing kept, the event handled."""
    before = await kept(harness)
    replies = await harness.send(harness.event(user, kind=Kind.CHOICE, data=data))
    assert [r.text for r in replies] == [answer], data
    assert await kept(harness) == before, data
    events = await rows_of(harness.engine.db, InboxEvent)
    assert {e.status for e in events} == {"done"}, data


async def in_reflection(
    harness: Harness, topics: str = "visa,interview"
) -> tuple[Counselor, int, int]:
    """A counselor and a consented student at the first question (topics) of a reflection."""
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id, topics)
    async with harness.engine.db.uow() as uow:
        run = await uow.runs.active_of(student_id)
        assert run is not None
        return counselor, student_id, run.id


def test_every_declared_family_is_tested_here() -> None:
    tested = {"lang", "consent", "a", "tz", "forget", "ses", "dig"}
    assert {family.prefix for family in COMMANDS.buttons} == tested


async def test_mangled_data_of_any_family_is_refused(harness: Harness) -> None:
    counselor, _, _ = await in_reflection(harness)
    for data in MANGLED:
        await refused(harness, "s1", data)
        await refused(harness, counselor.user, data)


async def test_language_must_be_a_shipped_one(harness: Harness) -> None:
    await in_reflection(harness)
    for data in ("lang:xx", "lang:de", "lang:EN", "lang:", "lang:en:ja", "lang:menu:1"):
        await refused(harness, "s1", data)
    [reply] = await harness.send(harness.event("s1", kind=Kind.CHOICE, data="lang:ja"))
    # The real choice still works.
    assert reply.text == translator("ja")._("I will write to you in English.")


async def test_consent_takes_only_yes_no_or_withdraw(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", consent=False)  # pending: consent buttons are live
    for data in ("consent:maybe", "consent:YES", "consent:", "consent:yes:yes", "consent:1"):
        await refused(harness, "s1", data)


async def test_an_answer_must_be_one_the_current_question_offered(harness: Harness) -> None:
    counselor, _, run_id = await in_reflection(harness, topics="visa,interview")
    offered = [b.data for b in harness.last("s1").buttons]
    assert offered == [f"a:{run_id}:0:visa", f"a:{run_id}:0:interview", f"a:{run_id}:0:skip"]
    for data in (
        f"a:{run_id}:0:resume",  # a topic, but not one of this session's
        f"a:{run_id}:0:nosuchtopic",
        f"a:{run_id}:0:3",  # a scale point on a topics question
        f"a:{run_id}:0:yes",
        f"a:{run_id}:x:visa",
        f"a:{run_id}:0",
        f"a:{run_id}:0:visa:visa",
        f"a:-{run_id}:0:visa",
        f"a:{run_id}::visa",
        "a:9999999:0:skip",  # no such run
        "a:99999999999999999999:0:skip",  # not an id at all
    ):
        await refused(harness, "s1", data)

    # Someone else's run: its buttons are data the client sends, so they can be forged.
    other = await harness.student(counselor, "s2", name="Ana")
    await harness.session(counselor, other)
    theirs = harness.last("s2").buttons[-1].data
    assert theirs.endswith(":skip") and not theirs.startswith(f"a:{run_id}:")
    await refused(harness, "s1", theirs)


async def test_a_yes_no_question_takes_only_yes_or_no(harness: Harness) -> None:
    _, _, run_id = await in_reflection(harness)
    for _ in range(5):  # the 1-5 question skipped, its "why" is not asked
        await harness.say("s1", "/skip")
    assert [b.data for b in harness.last("s1").buttons] == [
        f"a:{run_id}:6:yes",
        f"a:{run_id}:6:no",
        f"a:{run_id}:6:skip",
    ]
    for value in ("maybe", "3", "visa", "YES"):
        await refused(harness, "s1", f"a:{run_id}:6:{value}")


async def test_a_scale_question_takes_only_one_to_five(harness: Harness) -> None:
    _, student_id, _ = await in_reflection(harness)
    for _ in range(6):
        await harness.say("s1", "/skip")
    await harness.advance(timedelta(days=2, minutes=1))  # work_life: two texts, then a scale
    for _ in range(2):
        await harness.say("s1", "/skip")
    async with harness.engine.db.uow() as uow:
        run = await uow.runs.active_of(student_id)
        assert run is not None and run.set_id == "work_life" and run.step == 2
        run_id = run.id
    points = [b.data for b in harness.last("s1").buttons][:5]
    assert points == [f"a:{run_id}:2:{n}" for n in range(1, 6)]
    for value in ("0", "6", "10", "yes", "visa", "3.5", "٣"):
        await refused(harness, "s1", f"a:{run_id}:2:{value}")


async def test_a_stale_answer_button_says_the_question_is_closed(harness: Harness) -> None:
    _, _, run_id = await in_reflection(harness)
    await harness.press("s1", "Visa / status")
    await refused(harness, "s1", f"a:{run_id}:0:visa", answer=CLOSED)
    await refused(harness, "s1", f"a:{run_id}:7:skip", answer=CLOSED)


async def test_a_time_zone_button_must_be_one_the_picker_offered(harness: Harness) -> None:
    await in_reflection(harness)
    for data in ("tz:Mars/Olympus_Mons", "tz:Europe/Paris", "tz:", "tz:Asia/Tokyo:x", "tz:utc"):
        await refused(harness, "s1", data)
    [reply] = await harness.send(harness.event("s1", kind=Kind.CHOICE, data="tz:Asia/Seoul"))
    assert reply.text == "Your time zone is now Asia/Seoul."


async def test_forget_takes_only_yes_or_no(harness: Harness) -> None:
    await in_reflection(harness)
    await harness.say("s1", "An answer that must survive forged presses")
    for data in ("forget:maybe", "forget:", "forget:yes:no", "forget:YES", "forget:1"):
        await refused(harness, "s1", data)


async def test_the_session_picker_refuses_forged_and_stale_presses(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    # No /session open: a real-looking press finds nothing to continue.
    await refused(harness, counselor.user, "ses:done", answer=NO_LONGER_OPEN)
    await refused(harness, counselor.user, "ses:t:visa", answer=NO_LONGER_OPEN)
    for data in ("ses:s:abc", "ses:s:", "ses:x:1", "ses:done:now", "ses:t:", "ses:s:1:2"):
        await refused(harness, counselor.user, data)

    await harness.say(counselor.user, "/session")
    await harness.press(counselor.user, "Linh")
    for data in ("ses:t:nosuchtopic", "ses:t:VISA", "ses:t:visa:x"):
        await refused(harness, counselor.user, data)
    await harness.press(counselor.user, "Visa / status")
    await harness.press(counselor.user, "Done")
    assert harness.texts(counselor.user)[-1].startswith("Session logged for Linh (Visa / status)")
    assert student_id


async def test_the_session_pickers_cancel_logs_nothing(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1")
    await harness.say(counselor.user, "/session")
    await harness.press(counselor.user, "Linh")
    await harness.press(counselor.user, "Visa / status")
    [reply] = await harness.send(harness.event(counselor.user, kind=Kind.CHOICE, data="ses:x"))
    assert reply.text == "Cancelled. No session was logged."
    assert await rows_of(harness.engine.db, CounselingSession) == []
    # The picker is gone with it: its Done finds nothing to log.
    await refused(harness, counselor.user, "ses:done", answer=NO_LONGER_OPEN)


async def test_the_digest_buttons_refuse_forged_and_stale_presses(harness: Harness) -> None:
    counselor = await harness.counselor()
    own = await harness.student(counselor, "s1")
    other = await harness.counselor(name="Tanaka")
    theirs = await harness.student(other, "s2", name="Ana")
    await harness.session(counselor, own)
    await harness.say("s1", "My own answer")
    since = int((harness.clock.now() - timedelta(days=7)).timestamp())
    future = int((harness.clock.now() + timedelta(days=1)).timestamp())
    for data in (
        f"dig:s:{theirs}:{since}",  # another counselor's student
        f"dig:p:{theirs}:{since}:0",
        "dig:s:99999:0",  # no such student
        f"dig:s:{own}:{future}",  # a window no overview was made for
        f"dig:p:{own}:{since}:1",  # a page the detail does not have
        f"dig:f:{since}",  # files are only offered where they can be sent (Telegram)
        f"dig:s:{own}",
        f"dig:s:{own}:{since}:0",
        f"dig:p:{own}:{since}",
        f"dig:x:{since}",
        f"dig:s:{own}:-{since}",
    ):
        await refused(harness, counselor.user, data)
    # The same press for a window that began, about one's own student, works.
    [detail] = await harness.send(
        harness.event(counselor.user, kind=Kind.CHOICE, data=f"dig:s:{own}:{since}")
    )
    assert "My own answer" in detail.text
    await refused(harness, "s1", f"dig:s:{own}:{since}")  # a student has no digest buttons


async def test_a_counselors_language_and_zone_buttons_must_be_ones_offered(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    for data in (
        "lang:xx",
        "lang:de",
        "lang:EN",
        "lang:",
        "tz:Mars/Olympus_Mons",
        "tz:Europe/Paris",
    ):
        await refused(harness, counselor.user, data)
    [reply] = await harness.send(
        harness.event(counselor.user, kind=Kind.CHOICE, data="tz:Asia/Seoul")
    )
    assert reply.text.startswith("Your time zone is now Asia/Seoul.")
    [reply] = await harness.send(harness.event(counselor.user, kind=Kind.CHOICE, data="lang:ja"))
    assert reply.text == translator("ja")._(
        "From now on I write to you in English: alerts, the digest and its labels."
    )


@pytest.mark.parametrize("data", ["consent:yes", "forget:no", "a:1:0:skip"])
async def test_a_counselor_pressing_a_student_button_is_refused(
    harness: Harness, data: str
) -> None:
    counselor = await harness.counselor()
    await refused(harness, counselor.user, data)
