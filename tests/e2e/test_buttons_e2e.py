"""Forged button data through the real SDKs: a Telegram callback query from the fake Bot API
(python-telegram-bot, webhook) and a LINE postback (signed webhook). The press is answered
politely, nothing is kept, and the inbox event is handled, never failed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.db.models import Answer, InboxEvent, Student
from handlers import admin
from tests.e2e.world import World, world_settings
from tests.fakes.line_api import LineApiFake, line_event_postback
from tests.fakes.server import LocalServer
from tests.fakes.telegram_api import FakeTelegram
from tests.stored import kept_about_people

INVALID = "That button is no longer valid."
TG_STUDENT = 200
LINE_STUDENT = "Ub0a7d000000000000000000000000009"
MakeWorld = Callable[..., Awaitable[World]]


async def kept(world: World) -> dict[str, Any]:
    return await kept_about_people(world.running.db)


async def in_reflection(world: World, join: Callable[[str], Awaitable[None]]) -> int:
    """A counselor (CLI only), a consented student joined through `join`, a session."""
    counselor_id, _ = await world.add_counselor()
    code = await admin.create_invite(world.running.engine, counselor_id=counselor_id, label="Linh")
    await join(code)
    [student] = await world.rows(Student)
    await admin.log_session(
        world.running.engine,
        counselor_id=counselor_id,
        student_id=student.id,
        topics=["visa", "resume"],
    )
    await world.running.dispatcher.tick()
    return int(student.id)


async def test_a_forged_telegram_callback_is_answered_and_keeps_nothing(
    make_world: MakeWorld,
    database_url: str,
    tg: FakeTelegram,
    telegram_server: tuple[LocalServer, Any],
) -> None:
    settings = world_settings(database_url, telegram=telegram_server[0], webhook=True)
    world = await make_world(settings, tg=tg)

    async def join(code: str) -> None:
        await world.tg_say(TG_STUDENT, f"/start {code}")
        await world.tg_press(TG_STUDENT, "Continue")
        await world.tg_press(TG_STUDENT, "I agree")

    await in_reflection(world, join)
    assert world.tg_texts(TG_STUDENT)[-1].startswith("(1/7)")
    _, real = world.tg_button(TG_STUDENT, "Visa / status")
    run_id = real.split(":")[1]
    before = await kept(world)
    for data in (f"a:{run_id}:0:3", f"a:{run_id}:0:interview", "lang:xx", "ses:done", "zzz"):
        await world.tg_deliver(tg.callback_update(TG_STUDENT, data, buttons=[("Forged", data)]))
        assert world.tg_texts(TG_STUDENT)[-1] == INVALID, data
    assert await kept(world) == before
    assert await world.rows(Answer) == []
    assert {e.status for e in await world.rows(InboxEvent)} == {"done"}
    answered = {c["callback_query_id"] for c in tg.calls("answerCallbackQuery")}
    assert len(answered) == len(tg.calls("answerCallbackQuery"))  # every press was answered


async def test_a_forged_line_postback_is_answered_and_keeps_nothing(
    make_world: MakeWorld,
    database_url: str,
    line: LineApiFake,
    line_server: tuple[LocalServer, Any],
) -> None:
    world = await make_world(world_settings(database_url, line=line_server[0]), line=line)

    async def join(code: str) -> None:
        line.set_profile(LINE_STUDENT, "Mai", language="en")
        await world.line_say(LINE_STUDENT, code)
        await world.line_press(LINE_STUDENT, "Continue")
        await world.line_press(LINE_STUDENT, "I agree")

    await in_reflection(world, join)
    assert world.line_texts(LINE_STUDENT)[-1].startswith("(1/7)")
    run_id = world.line_button(LINE_STUDENT, "Visa / status").split(":")[1]
    before = await kept(world)
    forged = (f"a:{run_id}:0:yes", "tz:Europe/Paris", "forget:maybe", "consent:x", "a" * 300)
    for data in forged:
        event = line_event_postback(
            LINE_STUDENT,
            data,
            reply_token=line.issue_reply_token(LINE_STUDENT),
            timestamp_ms=world.line_ms(),
        )
        assert await world.line_post(event) == 200
        assert world.line_texts(LINE_STUDENT)[-1] == INVALID, data
    assert await kept(world) == before
    assert await world.rows(Answer) == []
    assert {e.status for e in await world.rows(InboxEvent)} == {"done"}
