"""Inputs an attacker controls: a button press claiming another chat, and guessed codes."""

from __future__ import annotations

from datetime import timedelta

from bot.db.models import InboxEvent, Student
from handlers import admin
from tests.e2e.world import World
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import Harness
from tests.stored import rows_of, stored_text

COUNSELOR = 100
STUDENT = 200
OTHER = 300
WRONG = "wrong-code-0000000000"


async def test_a_press_whose_chat_is_not_the_presser_is_ignored(
    both_channels: World, tg: FakeTelegram
) -> None:
    world = both_channels
    counselor_id, link = await world.add_counselor("Sato")
    await world.tg_say(COUNSELOR, f"/start {link}")
    for user, name in ((STUDENT, "Linh"), (OTHER, "Minh")):
        code = await admin.create_invite(
            world.running.engine, counselor_id=counselor_id, label=name
        )
        await world.tg_say(user, f"/start {code}")
        await world.tg_press(user, "Continue")
        await world.tg_press(user, "I agree")
    await world.tg_say(STUDENT, "/forget")
    message_id, data = world.tg_button(STUDENT, "Delete everything")
    sent_to_other = len(tg.sent_messages(OTHER))

    # The press says OTHER pressed it, in STUDENT's private chat (or the other way round).
    for presser, chat in ((OTHER, STUDENT), (STUDENT, OTHER)):
        update = tg.callback_update(STUDENT, data, message_id)
        query = update["callback_query"]
        query["from"] = tg.user(presser)
        query["message"]["chat"] = tg.chat(chat)
        assert await world.tg_post(update) == 200  # acknowledged, so Telegram stops retrying
        await world.settle()
        # Stored as it came, then read by the worker as nothing to act on: dropped.
        [row] = await world.rows(InboxEvent, event_id=str(update["update_id"]))
        assert (row.status, row.payload, row.attempts) == ("done", None, 1)

    assert len(await world.rows(Student)) == 2  # nobody was deleted
    assert len(tg.sent_messages(OTHER)) == sent_to_other
    await world.tg_press(STUDENT, "Delete everything")  # the genuine press still works
    assert world.tg_texts(STUDENT)[-1].startswith("Everything is deleted")
    assert len(await world.rows(Student)) == 1


async def test_wrong_codes_are_throttled_per_chat_and_a_good_code_works_later(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="Linh")
    for _ in range(5):
        [reply] = await harness.say("x1", f"/start {WRONG}", locale_hint="en")
        assert reply.text.startswith("This code is not valid.")
    harness.clock.advance(timedelta(minutes=3))
    [reply] = await harness.say("x1", f"/start {code}", locale_hint="en")  # not even tried
    assert reply.text.startswith("Too many wrong codes were sent from this chat.")
    assert "wait 7 minutes" in reply.text
    [reply] = await harness.say("x1", code, locale_hint="ja")  # typed as text: the same
    assert reply.text.startswith("このチャットから")
    assert await rows_of(harness.engine.db, Student) == []

    # Another chat is not held back by this one.
    [reply] = await harness.say("x2", f"/start {WRONG}", locale_hint="en")
    assert reply.text.startswith("This code is not valid.")

    harness.clock.advance(timedelta(minutes=7))
    [reply] = await harness.say("x1", f"/start {code}", locale_hint="en")
    assert reply.text == "Hello! I will write to you in English."
    assert len(await rows_of(harness.engine.db, Student)) == 1
    # The stranger x2 left a counted attempt, and no trace of their chat id anywhere.
    assert "x2" not in await stored_text(harness.engine.db)


async def test_short_codes_typed_as_text_are_counted_and_throttled_too(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="Linh")
    for n in range(5):  # typed off a sheet, the way a code looks: each one a wrong guess
        [reply] = await harness.say("x1", f"abcde fgh{n + 2}k", locale_hint="en")
        assert reply.text.startswith("This code is not valid.")
    [reply] = await harness.say("x1", code.lower(), locale_hint="en")
    assert reply.text.startswith("Too many wrong codes were sent from this chat.")
    assert await rows_of(harness.engine.db, Student) == []


async def test_the_throttle_survives_a_restart(database_url: str) -> None:
    harness = await Harness.create(database_url)
    try:
        await harness.counselor()
        for _ in range(5):
            await harness.say("x1", f"/start {WRONG}", locale_hint="en")
    finally:
        await harness.close()
    harness = await Harness.create(database_url)
    try:
        # A new event id: this harness counts its own from e1 again.
        event = harness.event("x1", f"/start {WRONG}", locale_hint="en", event_id="restarted")
        [reply] = await harness.send(event)
        assert reply.text.startswith("Too many wrong codes")
    finally:
        await harness.close()
