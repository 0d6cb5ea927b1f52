"""Counselor commands in chat, and the student's own journal."""

from __future__ import annotations

from tests.harness import Harness


async def test_invite_in_chat_carries_the_telegram_link(database_url: str) -> None:
    harness = await Harness.create(database_url, telegram_bot_username="furikaeri_bot")
    try:
        counselor = await harness.counselor()
        reply = (await harness.say(counselor.user, "/invite Minh"))[0].text
        code = reply.splitlines()[1]
        assert f"https://t.me/furikaeri_bot?start={code}" in reply.splitlines()
    finally:
        await harness.close()


async def test_invite_in_chat_gives_a_code_the_student_can_use(harness: Harness) -> None:
    counselor = await harness.counselor()
    reply = (await harness.say(counselor.user, "/invite Minh"))[0].text
    code = reply.splitlines()[1]
    assert "Minh" in reply and f"/start {code}" in reply
    await harness.say("s1", f"/start {code}", locale_hint="vi")
    listing = (await harness.say(counselor.user, "/students"))[0].text
    assert "Minh" in listing and "waiting for consent" in listing


async def test_session_with_buttons_toggles_topics(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", name="Minh")
    await harness.say(counselor.user, "/session")
    await harness.press(counselor.user, "Minh")
    await harness.press(counselor.user, "Visa / status")
    await harness.press(counselor.user, "Interviews")
    await harness.press(counselor.user, "Visa / status")  # untick
    picker = harness.last(counselor.user)
    assert [b.label for b in picker.buttons if b.label.startswith("✓")] == ["✓ Interviews"]
    assert "Selected: Interviews" in picker.text
    assert [b.label for b in picker.buttons][-2:] == ["Done", "Cancel"]
    await harness.press(counselor.user, "Done")
    assert "Session logged for Minh (Interviews)" in harness.texts(counselor.user)[-1]
    # One topic is no choice: the student answers the first question in words.
    assert [b.label for b in harness.last("s1").buttons] == ["Skip"]


async def test_session_cancel_logs_nothing(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", name="Minh")
    await harness.say(counselor.user, "/session")
    await harness.press(counselor.user, "Minh")
    await harness.press(counselor.user, "Visa / status")
    await harness.press(counselor.user, "Cancel")
    assert harness.texts(counselor.user)[-1] == "Cancelled. No session was logged."
    assert harness.texts("s1")[-1].startswith("Thank you!")  # no question was sent
    replies = await harness.press(counselor.user, "Done")  # the old picker is spent
    assert "no longer open" in replies[-1].text


async def test_session_with_a_number_and_no_topics_asks_for_the_topics(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", name="Minh")
    [picker] = await harness.say(counselor.user, f"/session {student_id}")
    assert picker.text.startswith("Session with Minh.")
    assert harness.texts("s1")[-1].startswith("Thank you!")  # nothing logged yet
    await harness.press(counselor.user, "Interviews")
    await harness.press(counselor.user, "Done")
    assert "Session logged for Minh (Interviews)" in harness.texts(counselor.user)[-1]


async def test_session_for_an_unknown_number_is_refused(harness: Harness) -> None:
    counselor = await harness.counselor()
    replies = await harness.say(counselor.user, "/session 42 visa")
    assert "no student with that number" in replies[0].text
    replies = await harness.say(counselor.user, "/session")
    assert "no students yet" in replies[0].text


async def test_journal_reads_back_what_the_student_wrote(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    assert "not written any" in (await harness.say("s1", "/journal"))[0].text
    await harness.session(counselor, student_id, "visa,interview")
    await harness.press("s1", "Visa / status")
    await harness.say("s1", "I want to decide by myself.")
    await harness.say("s1", "/skip")
    journal = (await harness.say("s1", "/journal"))[0].text
    assert "Your session on April 6" in journal
    assert "• Most useful: Visa / status" in journal
    assert "• You noticed: I want to decide by myself." in journal


async def test_students_never_reach_counselor_commands(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1")
    for command in ("/digest", "/students", "/invite X", "/session 1 visa"):
        replies = await harness.say("s1", command)
        assert "I do not know that command." in replies[0].text


async def test_start_after_stop_asks_the_open_question_again(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await harness.say("s1", "/skip")
    await harness.say("s1", "/stop")
    replies = await harness.say("s1", "/start")
    assert replies[0].text == "Welcome back. I will send you questions again."
    assert "(2/7)" in replies[-1].text
