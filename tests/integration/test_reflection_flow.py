"""The reflection as a student meets it: the first question, time words that stay true, the
mirror, the talk-again answers, and the follow-ups' closing mirror."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.engine.events import Kind
from bot.i18n import translator
from tests.harness import Harness

t = translator("en")
USEFUL = "Which information from today's session was most useful to you?"
USEFUL_LATER = "Which information from your session on {date} was most useful to you?"
# The harness clock starts on Monday 6 April 2026, 10:00 in Tokyo (the default time zone).
SESSION_DAY = "April 6"


async def started(harness: Harness, topics: str, *, locale: str = "en") -> Harness:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", locale=locale)
    await harness.session(counselor, student_id, topics)
    return harness


async def answer_until_talk_again(harness: Harness) -> None:
    """Answer the reflection up to its last question: topic, words, a skip, a 4, a reason."""
    await harness.press("s1", t._("Interviews"))
    await harness.say("s1", "I get nervous about my strengths.")
    await harness.press("s1", "Skip")  # still unclear
    await harness.say("s1", "Write my CV.")
    await harness.press("s1", "4")
    await harness.say("s1", "My counselor only asked questions.")


# -- the first question ------------------------------------------------------------------


async def test_first_question_asks_about_information_with_the_topics_and_free_text(
    harness: Harness,
) -> None:
    await started(harness, "visa,interview")
    first = harness.last("s1")
    assert first.text.startswith("(1/7)")
    assert USEFUL in first.text
    assert t._("Tap a button or write in your own words. You can skip this question.") in first.text
    assert [b.label for b in first.buttons] == ["Visa / status", "Interviews", "Skip"]
    # Free text answers it too.
    await harness.say("s1", "That a job offer changes the visa.")
    assert harness.last("s1").text.startswith("(2/7)")


@pytest.mark.parametrize("topics", ["interview", ""])
async def test_one_topic_or_none_is_not_offered_as_a_choice(harness: Harness, topics: str) -> None:
    await started(harness, topics)
    first = harness.last("s1")
    assert USEFUL in first.text
    assert [b.label for b in first.buttons] == ["Skip"]
    assert t._("Write in your own words. You can skip this question.") in first.text


# -- time words ----------------------------------------------------------------------------


async def test_a_reminder_on_a_later_day_names_the_session_day(harness: Harness) -> None:
    await started(harness, "visa,interview")
    await harness.advance(timedelta(hours=24, minutes=1))  # Tuesday in Tokyo
    reminder = harness.last("s1").text
    assert reminder.startswith(t._("A reminder: this question is still open."))
    assert USEFUL_LATER.format(date=SESSION_DAY) in reminder
    assert "today" not in reminder.lower()
    # The topic buttons stay.
    assert [b.label for b in harness.last("s1").buttons] == ["Visa / status", "Interviews", "Skip"]


async def test_a_reflection_that_starts_on_a_later_day_says_so(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", consent=False)
    await harness.session(counselor, student_id, "visa,interview")
    harness.clock.advance(timedelta(days=1))
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data="lang:en"))
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data="consent:yes"))
    intro, question = harness.texts("s1")[-2:]
    assert intro.startswith(f"A few short questions about your session on {SESSION_DAY}.")
    assert USEFUL_LATER.format(date=SESSION_DAY) in question
    assert "today" not in (intro + question).lower()


async def test_the_same_day_still_says_today(harness: Harness) -> None:
    await started(harness, "visa,interview")
    await harness.advance(timedelta(hours=13, minutes=59))  # 23:59 in Tokyo, same day
    assert USEFUL in harness.texts("s1")[-1]


async def test_a_date_in_the_readers_language(harness: Harness) -> None:
    await started(harness, "visa,interview", locale="ja")
    await harness.advance(timedelta(hours=24, minutes=1))
    ja = translator("ja")
    assert "4月6日の面談" in harness.last("s1").text
    assert ja._("A reminder: this question is still open.") in harness.last("s1").text
    assert "今日" not in harness.last("s1").text


async def test_journal_on_a_later_day_lists_answers_under_the_session_day(
    harness: Harness,
) -> None:
    await started(harness, "visa,interview")
    await harness.press("s1", "Interviews")
    await harness.say("s1", "I get nervous about my strengths.")
    await harness.press("s1", "Skip")
    harness.clock.advance(timedelta(days=3))
    journal = (await harness.say("s1", "/journal"))[-1].text
    assert journal.splitlines()[:2] == ["Your reflections:", ""]
    assert f"Your session on {SESSION_DAY}" in journal
    assert "• Most useful: Interviews" in journal
    assert "• You noticed: I get nervous about my strengths." in journal
    assert "Still unclear" not in journal  # skipped
    assert "today" not in journal.lower()


# -- the mirror ----------------------------------------------------------------------------


async def test_the_mirror_comes_before_talk_again_labelled_without_skipped_answers(
    harness: Harness,
) -> None:
    await started(harness, "visa,interview")
    await answer_until_talk_again(harness)
    mirror, question = harness.texts("s1")[-2:]
    assert mirror.splitlines() == [
        "Before the last question, here is what you wrote:",
        "• Most useful: Interviews",
        "• You noticed: I get nervous about my strengths.",
        "• Next step: Write my CV.",
        "• Your own choice: 4/5",
        "• Your reason: My counselor only asked questions.",
    ]
    assert question.startswith("(7/7)")


async def test_the_mirror_on_a_later_day_names_the_session_day(harness: Harness) -> None:
    await started(harness, "visa,interview")
    await harness.press("s1", "Interviews")
    harness.clock.advance(timedelta(days=1))
    for _ in range(3):
        await harness.press("s1", "Skip")
    await harness.press("s1", "3")
    await harness.say("s1", "Because.")
    mirror = harness.texts("s1")[-2]
    assert mirror.splitlines()[0] == (
        f"Before the last question, here is what you wrote about your session on {SESSION_DAY}:"
    )


async def test_the_reason_is_not_asked_when_the_number_was_skipped(harness: Harness) -> None:
    await started(harness, "visa,interview")
    for _ in range(5):  # up to and including the 1-5 question
        await harness.press("s1", "Skip")
    assert harness.last("s1").text.startswith("(7/7)")
    assert "That question is already closed." not in harness.texts("s1")


async def test_follow_up_sets_end_with_a_short_mirror(harness: Harness) -> None:
    await started(harness, "visa")
    while any(b.data.endswith(":skip") for b in harness.last("s1").buttons):
        await harness.press("s1", "Skip")
    await harness.advance(timedelta(days=2))  # the work/life set
    await harness.say("s1", "To study design.")
    await harness.say("s1", "Friend and part-time worker.")
    await harness.press("s1", "Skip")
    await harness.press("s1", "Skip")
    await harness.say("s1", "Time with friends.")
    mirror, outro = harness.texts("s1")[-2:]
    assert mirror.splitlines() == [
        "Here is what you wrote:",
        "• Coming to Japan: To study design.",
        "• Your roles: Friend and part-time worker.",
        "• A good life: Time with friends.",
    ]
    assert outro == t._("Thank you for sharing your thoughts.")


# -- talk again ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "yes", "no"),
    [
        ("en", "Yes, I'd like to", "Not now"),
        ("zh_Hans", "想", "暂时不用"),
        ("ja", "はい、話したい", "今はいいです"),
    ],
)
async def test_talk_again_offers_natural_answers(
    harness: Harness, locale: str, yes: str, no: str
) -> None:
    await started(harness, "visa", locale=locale)
    for _ in range(5):
        await harness.press("s1", translator(locale)._("Skip"))
    assert [b.label for b in harness.last("s1").buttons][:2] == [yes, no]


@pytest.mark.parametrize(("pressed", "flagged"), [("Yes, I'd like to", True), ("Not now", False)])
async def test_talk_again_answer_reaches_the_digest(
    harness: Harness, pressed: str, flagged: bool
) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id, "visa")
    for _ in range(5):
        await harness.press("s1", "Skip")
    await harness.press("s1", pressed)
    digest = "\n".join(m.text for m in await harness.say(counselor.user, "/digest"))
    assert ("wants to talk" in digest) is flagged
    journal = (await harness.say("s1", "/journal"))[-1].text
    assert f"• Talk again: {pressed}" in journal


# -- rotation --------------------------------------------------------------------------------


async def test_a_retired_wording_in_an_open_run_is_asked_in_its_current_form(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id, "visa,interview")
    async with harness.engine.db.uow() as uow:
        run = await uow.runs.active_of(student_id)
        assert run is not None
        run.questions = ["reflection.topics.mattered", *run.questions[1:]]
        await uow.commit()
    await harness.say("s1", "/resume")
    assert USEFUL in harness.texts("s1")[-1]
    await harness.say("s1", "The visa part.")
    async with harness.engine.db.uow() as uow:
        stored = [a.question_id for a in await uow.answers.of_student(student_id)]
    assert stored == ["reflection.topics.useful_info"]
