"""Telegram end to end: the real app, PTB against the fake Bot API, polling and webhook."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.db.models import Answer, ChannelAccount, InboxEvent, OutboxMessage, Student
from bot.engine.commands import Audience
from bot.i18n import SHIPPED_LOCALES, MissingTranslation, translator
from handlers import COMMANDS
from tests.e2e.world import TG_HOOK, TG_SECRET, World, world_settings
from tests.fakes.server import LocalServer
from tests.fakes.telegram_api import FakeTelegram

COUNSELOR = 100
STUDENT = 200
MakeWorld = Callable[..., Awaitable[World]]


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def world(
    make_world: MakeWorld,
    database_url: str,
    tg: FakeTelegram,
    telegram_server: tuple[LocalServer, Any],
    mode: str,
) -> World:
    settings = world_settings(database_url, telegram=telegram_server[0], webhook=mode == "webhook")
    return await make_world(settings, tg=tg)


async def link_counselor(world: World, name: str = "Sato") -> int:
    counselor_id, link_code = await world.add_counselor(name)
    await world.tg_say(COUNSELOR, f"/start {link_code}")
    assert f"Your chat account is now linked, {name}." in world.tg_texts(COUNSELOR)
    return counselor_id


async def invite(world: World, name: str = "Linh") -> str:
    await world.tg_say(COUNSELOR, f"/invite {name}")
    text = world.tg_texts(COUNSELOR)[-1]
    assert f"Invite code for {name}:" in text
    return text.splitlines()[1]


async def join(world: World, code: str, user: int = STUDENT) -> None:
    """Join with a deep link, confirm the guessed language, consent."""
    await world.tg_say(user, f"/start {code}", language_code="en")
    assert world.tg_texts(user)[-1] == "Hello! I will write to you in English."
    await world.tg_press(user, "Continue")
    assert world.tg_texts(user)[-1].startswith("Before we start, please read this.")
    await world.tg_press(user, "I agree")
    assert world.tg_texts(user)[-1].startswith("Thank you!")


async def log_session(world: World, student: str, *topics: str) -> None:
    """The counselor's /session with buttons: the student, the topics, Done."""
    await world.tg_say(COUNSELOR, "/session")
    await world.tg_press(COUNSELOR, student)
    for topic in topics:
        await world.tg_press(COUNSELOR, topic)
    await world.tg_press(COUNSELOR, "Done")


async def enrolled(world: World) -> None:
    await link_counselor(world)
    await join(world, await invite(world))


def keyboard(message: dict[str, Any]) -> list[list[tuple[str, str]]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [[(b["text"], b["callback_data"]) for b in row] for row in rows]


async def test_the_whole_loop_from_link_to_digest(world: World, tg: FakeTelegram) -> None:
    await link_counselor(world)
    code = await invite(world)
    assert f"/start {code}" in world.tg_texts(COUNSELOR)[-1]
    await join(world, code)

    await log_session(world, "Linh", "Visa / status", "Interviews")
    assert "Session logged for Linh (Visa / status, Interviews)." in world.tg_texts(COUNSELOR)[-1]
    question = tg.sent_messages(STUDENT)[-1]
    assert question["text"].startswith("(1/7)")
    assert keyboard(question) == [
        [("Visa / status", "a:1:0:visa"), ("Interviews", "a:1:0:interview")],
        [("Skip", "a:1:0:skip")],
    ]

    press = await world.tg_press(STUDENT, "Interviews")
    answered = [c["callback_query_id"] for c in tg.calls("answerCallbackQuery")]
    assert press["callback_query"]["id"] in answered
    pressed = next(
        m for m in tg.sent_messages(STUDENT) if m["message_id"] == question["message_id"]
    )
    assert keyboard(pressed) == [[("✓ Interviews", "-")]]  # the choice shows, the keys are gone
    assert world.tg_texts(STUDENT)[-1].startswith("(2/7)")

    await world.tg_say(STUDENT, "I noticed I talk too fast in interviews.")
    assert world.tg_texts(STUDENT)[-1].startswith("(3/7)")
    await world.tg_say(STUDENT, "How long the visa change takes.")
    await world.tg_say(STUDENT, "Practise one interview with a friend.")
    await world.tg_press(STUDENT, "4")
    await world.tg_say(STUDENT, "I chose it myself.")
    assert world.tg_texts(STUDENT)[-2].startswith(
        "Before the last question, here is what you wrote:\n• Most useful: Interviews"
    )
    assert world.tg_texts(STUDENT)[-1].startswith("(7/7)")
    await world.tg_press(STUDENT, "Yes, I'd like to")
    assert world.tg_texts(STUDENT)[-1] == (
        "Thank you for your answers. They are kept for you and your counselor."
    )

    await world.tg_say(COUNSELOR, "/digest")
    digest = world.tg_texts(COUNSELOR)[-1]
    for expected in (
        "Linh (#1)",
        "wants to talk",
        "Visa and residence status, Job interviews",
        "Most useful: Interviews",
        "Noticed about themselves: I noticed I talk too fast in interviews.",
        "Still unclear: How long the visa change takes.",
        "Next step: Practise one interview with a friend.",
        "Talk again: Yes",
    ):
        assert expected in digest


async def answered(world: World) -> list[Answer]:
    return await world.rows(Answer)


async def test_a_duplicate_update_changes_nothing(world: World, tg: FakeTelegram) -> None:
    await enrolled(world)
    await log_session(world, "Linh", "Visa / status", "Interviews")
    await world.tg_press(STUDENT, "Visa / status")
    update = tg.text_update(STUDENT, "The interview practice helped.")
    before = len(tg.sent_messages(STUDENT))

    if world.polling:  # fetched twice, as after a crash before the offset was confirmed
        tg.push_update(update)
        tg.push_update(update)
        await world.tg_polled_past(update["update_id"])
        await world.settle()
    else:  # Telegram posts again when it did not get its 200 in time
        assert await world.tg_post(update) == 200
        assert await world.tg_post(update) == 200
        await world.settle()

    texts = [a.text for a in await answered(world)]
    assert texts.count("The interview practice helped.") == 1
    assert len(tg.sent_messages(STUDENT)) == before + 1
    assert world.tg_texts(STUDENT)[-1].startswith("(3/7)")
    assert len(await world.rows(InboxEvent, event_id=str(update["update_id"]))) == 1


async def test_a_restart_mid_reflection_resumes_at_the_right_question(
    world: World, tg: FakeTelegram
) -> None:
    await enrolled(world)
    await log_session(world, "Linh", "Visa / status", "Interviews")
    await world.restart()  # buttons sent before the restart still work after it
    await world.tg_press(STUDENT, "Interviews")
    await world.tg_say(STUDENT, "I noticed I was calm.")
    assert world.tg_texts(STUDENT)[-1].startswith("(3/7)")

    await world.close()
    update = tg.text_update(STUDENT, "Whether I need a new visa.")  # written while we are down
    if world.polling:
        tg.push_update(update)  # Telegram keeps it until an offset confirms it
        await world.open()
        await world.tg_polled_past(update["update_id"])
        await world.settle()
    else:
        await world.open()
        assert await world.tg_post(update) == 200  # Telegram retries a failed delivery
        await world.settle()

    assert world.tg_texts(STUDENT)[-1].startswith("(4/7)")
    assert sum(t.startswith("(3/7)") for t in world.tg_texts(STUDENT)) == 1
    first_question = next(m for m in tg.sent_messages(STUDENT) if m["text"].startswith("(1/7)"))
    # A second press on the first question (sent before its keyboard was replaced).
    await world.tg_deliver(tg.callback_update(STUDENT, "a:1:0:visa", first_question["message_id"]))
    assert world.tg_texts(STUDENT)[-1] == "That question is already closed."
    assert [a.choice or a.text for a in await answered(world)] == [
        "interview",
        "I noticed I was calm.",
        "Whether I need a new visa.",
    ]
    await world.tg_say(COUNSELOR, "/digest")
    digest = world.tg_texts(COUNSELOR)[-1]
    assert ": I noticed I was calm." in digest and ": Whether I need a new visa." in digest


@pytest.fixture
async def hooked(
    make_world: MakeWorld,
    database_url: str,
    tg: FakeTelegram,
    telegram_server: tuple[LocalServer, Any],
) -> World:
    """A world in webhook mode, for what does not depend on how updates arrive."""
    settings = world_settings(database_url, telegram=telegram_server[0], webhook=True)
    return await make_world(settings, tg=tg)


async def test_start_registers_the_webhook_or_polls_and_sets_the_menus(
    world: World, tg: FakeTelegram
) -> None:
    if world.polling:
        assert tg.calls("deleteWebhook") and not tg.calls("setWebhook")
        assert tg.webhook["url"] == ""
    else:
        [call] = tg.calls("setWebhook")
        assert call["url"] == TG_HOOK and call["secret_token"] == TG_SECRET
        assert "callback_query" in call["allowed_updates"]
        assert "my_chat_member" in call["allowed_updates"]
    student_menu = [(c.name, c.description) for c in COMMANDS.listed(Audience.STUDENT)]
    english = [(name, translator("en")._(text)) for name, text in student_menu]
    assert tg.commands() == english  # the default menu, in the default language (here en)
    assert tg.commands(language_code="en") == english
    for locale in SHIPPED_LOCALES:
        code = locale.split("_")[0]
        if locale == "zh_Hant":
            continue  # Telegram has one "zh" menu: Simplified, listed first
        try:
            expected = [(n, translator(locale)._(text)) for n, text in student_menu]
        except MissingTranslation:
            expected = None  # not translated yet: Telegram shows the default menu
        assert tg.commands(language_code=code) == expected, locale

    await link_counselor(world)
    assert tg.commands(chat_id=COUNSELOR) is None  # set at start, for linked counselors
    await world.restart()
    assert tg.commands(chat_id=COUNSELOR) == [
        (c.name, translator("en")._(c.description)) for c in COMMANDS.listed(Audience.COUNSELOR)
    ]


async def test_a_bad_secret_is_forbidden_and_nothing_is_stored(
    hooked: World, tg: FakeTelegram
) -> None:
    _, link_code = await hooked.add_counselor()
    update = tg.text_update(COUNSELOR, f"/start {link_code}")
    assert await hooked.tg_post(update, secret="not-the-secret") == 403
    assert await hooked.tg_post(update, secret="") == 403
    await hooked.settle()
    assert await hooked.rows(InboxEvent) == []
    assert await hooked.rows(ChannelAccount) == []
    assert tg.sent_messages(COUNSELOR) == []
    assert await hooked.tg_post(update) == 200  # the right secret: the same update works
    await hooked.settle()
    assert "Your chat account is now linked, Sato." in hooked.tg_texts(COUNSELOR)


async def test_malformed_json_with_the_right_secret_is_a_bad_request(
    hooked: World, tg: FakeTelegram
) -> None:
    assert hooked.client is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    response = await hooked.client.post("/webhook/telegram", content=b"{oops", headers=headers)
    assert response.status_code == 400
    assert await hooked.rows(InboxEvent) == []


async def test_stickers_photos_voice_and_locations_get_a_polite_text_please(
    hooked: World, tg: FakeTelegram
) -> None:
    await enrolled(hooked)
    await log_session(hooked, "Linh", "Visa / status", "Interviews")
    for kind in ("sticker", "photo", "voice", "location"):
        await hooked.tg_deliver(tg.media_update(STUDENT, kind))
        assert hooked.tg_texts(STUDENT)[-1] == (
            "Sorry, I can only read text. Please write your answer."
        ), kind
    assert await answered(hooked) == []
    await hooked.tg_press(STUDENT, "Visa / status")  # the question is still open
    assert hooked.tg_texts(STUDENT)[-1].startswith("(2/7)")


async def test_long_text_and_emoji_are_kept_exactly(hooked: World, tg: FakeTelegram) -> None:
    await enrolled(hooked)
    await log_session(hooked, "Linh", "Visa / status", "Interviews")
    await hooked.tg_press(STUDENT, "Skip")
    emoji = "家族と話した 👨‍👩‍👧‍👦 がんばる✨🇯🇵 नमस्ते"
    words = " ".join(f"word{n:04d}" for n in range(1200))[:10_000]
    assert len(words) == 10_000
    await hooked.tg_say(STUDENT, emoji)
    await hooked.tg_say(STUDENT, words)
    await hooked.tg_say(STUDENT, "/skip")  # the next step
    await hooked.tg_say(STUDENT, "/skip")  # the 1-5 question (and so its reason)

    stored = [a.text for a in await answered(hooked) if a.text]
    assert stored == [emoji, words]
    assert stored[0].encode() == emoji.encode()
    read_back = [line for t in hooked.tg_texts(STUDENT) for line in t.splitlines()]
    assert f"• You noticed: {emoji}" in read_back  # the read-back shows it as written
    mirror = [t for t in hooked.tg_texts(STUDENT) if "word" in t]
    assert all(len(t) <= 4096 for t in hooked.tg_texts(STUDENT))
    assert len(mirror) >= 3  # the read-back of 10,000 characters came in several messages
    assert "".join("".join(mirror).split()).count("".join(words.split())) == 1

    await hooked.tg_say(COUNSELOR, "/digest")  # too long for one message: an overview
    assert "Linh (#1)" in hooked.tg_texts(COUNSELOR)[-1]
    await hooked.tg_press(COUNSELOR, "Linh")  # her detail, in pages edited in place
    pages = [hooked.tg_texts(COUNSELOR)[-1]]
    while "Next ▶" in [
        label for row in keyboard(tg.sent_messages(COUNSELOR)[-1]) for label, _ in row
    ]:
        await hooked.tg_press(COUNSELOR, "Next ▶")
        pages.append(hooked.tg_texts(COUNSELOR)[-1])
    assert len(pages) >= 3 and all(len(p) <= 4096 for p in pages)
    assert pages[0].endswith(f"Page 1 of {len(pages)}")
    digest = "\n".join(p.rsplit("\n", 1)[0] for p in pages)  # without the "Page n of m"
    assert f": {emoji}" in digest
    assert "".join(digest.split()).count("".join(words.split())) == 1


async def test_a_long_digest_comes_as_an_overview_and_whole_as_one_file(
    hooked: World, tg: FakeTelegram
) -> None:
    from handlers import admin
    from handlers.digest.render import render_text

    counselor_id = await link_counselor(hooked)
    await join(hooked, await invite(hooked))
    await log_session(hooked, "Linh", "Visa / status", "Interviews")
    await hooked.tg_press(STUDENT, "Skip")
    lines = [f"Line {n:02d}: what I noticed about my job search this week." for n in range(90)]
    await hooked.tg_say(STUDENT, "\n".join(lines))
    assert hooked.running is not None
    built = await admin.digest(hooked.running.engine, counselor_id=counselor_id, since=None)
    [whole] = render_text(built, translator("en"), max_len=1_000_000)
    assert len(whole) > 4096
    before = len(tg.sent_messages(COUNSELOR))

    await hooked.tg_say(COUNSELOR, "/digest")

    [overview] = hooked.tg_texts(COUNSELOR)[before:]
    assert "Linh (#1)" in overview and "Line 00" not in overview
    await hooked.tg_press(COUNSELOR, "All as a file")
    [upload] = tg.sent_documents(COUNSELOR)
    assert upload["filename"].endswith(".txt")
    assert upload["content"].decode("utf-8") == whole  # nothing lost, in one file
    assert len(tg.sent_messages(COUNSELOR)) == before + 2


async def test_an_edit_updates_the_stored_answer(hooked: World, tg: FakeTelegram) -> None:
    await enrolled(hooked)
    await log_session(hooked, "Linh", "Visa / status", "Interviews")
    await hooked.tg_press(STUDENT, "Skip")
    update = tg.text_update(STUDENT, "I notcied nothing")
    await hooked.tg_deliver(update)
    message_id = update["message"]["message_id"]
    await hooked.tg_deliver(tg.edited_update(STUDENT, message_id, "I noticed nothing new."))
    assert hooked.tg_texts(STUDENT)[-1] == "Your answer was updated."
    assert [a.text for a in await answered(hooked) if a.text] == ["I noticed nothing new."]


async def test_a_group_chat_is_refused_and_nothing_is_stored(
    hooked: World, tg: FakeTelegram
) -> None:
    await link_counselor(hooked)
    code = await invite(hooked)
    group = -100_123
    await hooked.tg_deliver(
        tg.text_update(STUDENT, f"/start {code}", chat_type="group", chat_id=group)
    )
    await hooked.tg_deliver(
        tg.member_update(STUDENT, "left", "member", chat_type="supergroup", chat_id=group)
    )
    refusal = (
        "I work only in private 1:1 chats, so that answers stay private. "
        "Please message me directly."
    )
    assert hooked.tg_texts(group) == [refusal, refusal]
    assert await hooked.rows(Student) == []
    assert [a.chat_id for a in await hooked.rows(ChannelAccount)] == [str(COUNSELOR)]
    assert all(row.payload is None for row in await hooked.rows(InboxEvent))
    await join(hooked, code)  # the code was not used up in the group


async def test_a_flood_of_429s_delays_but_never_drops_or_repeats(
    hooked: World, tg: FakeTelegram
) -> None:
    await enrolled(hooked)
    await log_session(hooked, "Linh", "Visa / status", "Interviews")
    tg.fail_next("sendMessage", status=429, retry_after=3, times=4, chat_id=STUDENT)

    def calls() -> list[dict[str, Any]]:
        return [c for c in tg.calls("sendMessage") if int(c["chat_id"]) == STUDENT]

    before = len(calls())

    await hooked.tg_press(STUDENT, "Visa / status")
    assert [a.choice for a in await answered(hooked)] == ["visa"]  # stored at once
    assert len(calls()) == before + 1
    await hooked.tg_say(COUNSELOR, "/students")  # other chats are not held up
    assert "Linh" in hooked.tg_texts(COUNSELOR)[-1]
    await hooked.tick()  # not due yet: no retry before retry_after
    assert len(calls()) == before + 1
    for attempt in range(2, 6):
        await hooked.tick(timedelta(seconds=3))
        assert len(calls()) == before + attempt
    assert world_questions(hooked) == ["(1/7)", "(2/7)"]
    [row] = [r for r in await hooked.rows(OutboxMessage, chat_id=str(STUDENT)) if r.attempts > 1]
    assert row.status == "sent" and row.attempts == 5


def world_questions(world: World) -> list[str]:
    return [t[:5] for t in world.tg_texts(STUDENT) if t.startswith("(")]


async def test_a_blocked_bot_stops_sending_and_an_unblock_restores(
    hooked: World, tg: FakeTelegram
) -> None:
    await enrolled(hooked)
    tg.block(STUDENT)
    await hooked.tg_deliver(tg.member_update(STUDENT, "member", "kicked"))
    [student] = await hooked.rows(Student)
    assert not student.reachable
    await log_session(hooked, "Linh", "Visa / status", "Interviews")
    assert (
        "The questions will be sent when the student can receive them."
        in (hooked.tg_texts(COUNSELOR)[-1])
    )
    await hooked.tg_say(COUNSELOR, "/students")
    assert "unreachable (blocked the bot)" in hooked.tg_texts(COUNSELOR)[-1]

    tg.unblock(STUDENT)
    await hooked.tg_deliver(tg.member_update(STUDENT, "kicked", "member"))
    [student] = await hooked.rows(Student)
    assert student.reachable
    assert hooked.tg_texts(STUDENT)[-3:-1] == [
        "Welcome back. I will send you questions again.",
        "A few short questions about today's session. It takes about 3 minutes, "
        "and you can skip any question.",
    ]
    assert world_questions(hooked) == ["(1/7)"]  # the reflection that waited


async def test_a_403_on_send_marks_the_student_unreachable(hooked: World, tg: FakeTelegram) -> None:
    await enrolled(hooked)
    tg.block(STUDENT)  # no my_chat_member update yet: the send finds out
    await log_session(hooked, "Linh", "Visa / status", "Interviews")
    [student] = await hooked.rows(Student)
    assert not student.reachable
    pending = await hooked.rows(OutboxMessage, chat_id=str(STUDENT), status="pending")
    assert pending == []  # nothing keeps knocking
    await hooked.tick(timedelta(minutes=5))
    assert len([c for c in tg.calls("sendMessage") if int(c["chat_id"]) == STUDENT]) == (
        len(tg.sent_messages(STUDENT)) + 1
    )
