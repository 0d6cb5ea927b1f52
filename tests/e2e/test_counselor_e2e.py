"""The counselor's end through the real SDKs and the fake Telegram and LINE servers:
alerts at once, pickers that edit one message, and a digest that stays short in chat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.db.models import ChannelAccount
from bot.i18n import translator
from tests.e2e.world import World
from tests.fakes.line_api import LineApiFake
from tests.fakes.telegram_api import FakeTelegram
from tests.seed import seed_history

TG_COUNSELOR = 100
TG_STUDENT = 200
LINE_COUNSELOR = "U" + "c0" * 16
LINE_STUDENT = "U" + "5e" * 16


async def tg_counselor(world: World) -> int:
    counselor_id, code = await world.add_counselor("Sato")
    await world.tg_say(TG_COUNSELOR, f"/start {code}")
    return counselor_id


async def tg_student(world: World, name: str, language_code: str = "en") -> None:
    await world.tg_say(TG_COUNSELOR, f"/invite {name}")
    code = world.tg_texts(TG_COUNSELOR)[-1].splitlines()[1]
    await world.tg_say(TG_STUDENT, f"/start {code}", language_code=language_code)
    await world.tg_press(TG_STUDENT, first_button(world, TG_STUDENT))  # Continue
    await world.tg_press(TG_STUDENT, first_button(world, TG_STUDENT))  # I agree


def first_button(world: World, chat: int) -> str:
    assert world.tg is not None
    markup = world.tg.sent_messages(chat)[-1]["reply_markup"]
    return str(markup["inline_keyboard"][0][0]["text"])


def calls_to(tg: FakeTelegram, method: str, chat: int) -> list[dict[str, Any]]:
    return [c for c in tg.calls(method) if int(c["chat_id"]) == chat]


async def test_a_typed_hai_alerts_the_counselor_at_once(
    both_channels: World, tg: FakeTelegram
) -> None:
    world = both_channels
    await tg_counselor(world)
    await tg_student(world, "Haruto", language_code="ja")
    await world.tg_say(TG_COUNSELOR, "/session 1 visa")
    for _ in range(5):  # the 1-5 question skipped: its reason is not asked
        await world.tg_say(TG_STUDENT, "/skip", language_code="ja")
    assert world.tg_texts(TG_STUDENT)[-1].startswith("(7/7)")
    before = len(world.tg_texts(TG_COUNSELOR))

    await world.tg_say(TG_STUDENT, "はい", language_code="ja")

    [alert] = world.tg_texts(TG_COUNSELOR)[before:]
    assert alert == (
        "Haruto (#1) would like to talk with you again. Please contact them the way you "
        "usually do; after you meet, log it with /session 1."
    )
    told = translator("ja")._(
        "I have told your counselor that you would like to talk. They will contact you."
    )
    assert told in world.tg_texts(TG_STUDENT)


async def test_the_session_picker_edits_one_message_on_telegram(
    both_channels: World, tg: FakeTelegram
) -> None:
    world = both_channels
    await tg_counselor(world)
    await tg_student(world, "Minh")
    sent_before = len(calls_to(tg, "sendMessage", TG_COUNSELOR))

    await world.tg_say(TG_COUNSELOR, "/session")
    picker_id = tg.sent_messages(TG_COUNSELOR)[-1]["message_id"]
    await world.tg_press(TG_COUNSELOR, "Minh")
    await world.tg_press(TG_COUNSELOR, "Visa / status")
    await world.tg_press(TG_COUNSELOR, "Interviews")
    await world.tg_press(TG_COUNSELOR, "✓ Visa / status")  # untick
    picker = tg.sent_messages(TG_COUNSELOR)[-1]
    assert picker["message_id"] == picker_id
    labels = [b["text"] for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert [label for label in labels if "✓" in label] == ["✓ Interviews"]
    assert labels[-2:] == ["Done", "Cancel"]
    await world.tg_press(TG_COUNSELOR, "Done")

    assert len(calls_to(tg, "sendMessage", TG_COUNSELOR)) == sent_before + 1  # one message
    assert len(calls_to(tg, "editMessageText", TG_COUNSELOR)) == 5
    final = tg.sent_messages(TG_COUNSELOR)[-1]
    assert final["message_id"] == picker_id and "reply_markup" not in final
    assert final["text"].startswith("Session logged for Minh (Interviews).")


async def test_on_line_each_picker_step_is_a_new_message_and_cancel_logs_nothing(
    both_channels: World, line: LineApiFake
) -> None:
    world = both_channels
    _, code = await world.add_counselor("Sato")
    await world.line_say(LINE_COUNSELOR, f"/start {code}")
    await world.line_say(LINE_COUNSELOR, "/invite Aung")
    invite = world.line_texts(LINE_COUNSELOR)[-1].splitlines()[1]
    await world.line_say(LINE_STUDENT, f"/start {invite}")

    await world.line_say(LINE_COUNSELOR, "/session")
    assert [label for label, _ in world.line_last(LINE_COUNSELOR).buttons] == ["Aung", "Cancel"]
    await world.line_press(LINE_COUNSELOR, "Aung")
    await world.line_press(LINE_COUNSELOR, "Interviews")
    topics = world.line_last(LINE_COUNSELOR)
    assert "Selected: Interviews" in topics.text
    assert ("✓ Interviews", "ses:t:interview") in topics.buttons
    assert len(topics.buttons) == 13  # LINE's most: the twelve topics and Done
    await world.line_say(LINE_COUNSELOR, "/session")
    await world.line_press(LINE_COUNSELOR, "Cancel")
    assert world.line_texts(LINE_COUNSELOR)[-1] == "Cancelled. No session was logged."
    assert line.pushed(LINE_STUDENT) == []  # no reflection was sent


async def test_a_year_of_answers_gives_at_most_ten_chat_messages(
    both_channels: World, tg: FakeTelegram, line: LineApiFake
) -> None:
    world = both_channels
    app = world.running
    long_answer = "Câu trả lời {i} của sinh viên {student}: " + "tôi muốn thử phỏng vấn. " * 12
    counselor_id = await seed_history(
        app.db, app.engine.prompts, students=60, answers_each=220, locale="en", text=long_answer
    )
    async with app.db.uow() as uow:
        for channel, chat in (("telegram", str(TG_COUNSELOR)), ("line", LINE_COUNSELOR)):
            await uow.accounts.add(
                channel=channel,
                external_id=chat,
                chat_id=chat,
                counselor_id=counselor_id,
                now=world.clock.now(),
            )
        await uow.commit()

    await world.tg_say(TG_COUNSELOR, "/digest")
    overview = world.tg_texts(TG_COUNSELOR)
    assert 1 <= len(overview) <= 3 and all(len(t) <= 4096 for t in overview)
    assert "60 students with something new:" in overview[0]
    assert "学生000 (#1)" in "\n".join(overview)
    await world.tg_press(TG_COUNSELOR, "学生000")  # one student: one page at a time
    assert len(tg.sent_messages(TG_COUNSELOR)) == len(overview) + 1
    page = world.tg_texts(TG_COUNSELOR)[-1]
    assert page.startswith("⚑ 学生000 (#1) · wants to talk")
    assert "Page 1 of " in page.splitlines()[-1]
    await world.tg_press(TG_COUNSELOR, "All as a file")
    [document] = tg.sent_documents(TG_COUNSELOR)
    whole = document["content"].decode("utf-8")
    assert "学生000 (#1)" in whole and "学生059 (#60)" in whole  # everyone, in one file
    assert len(whole) > 100 * sum(len(t) for t in overview)
    assert len(tg.sent_messages(TG_COUNSELOR)) <= 10

    await world.line_say(LINE_COUNSELOR, "/digest 400d")
    on_line = line.all_messages(LINE_COUNSELOR)
    assert 1 <= len(on_line) <= 3
    assert "File" not in " ".join(label for label, _ in on_line[-1].buttons)
    await world.line_press(LINE_COUNSELOR, "学生001")
    assert len(line.all_messages(LINE_COUNSELOR)) <= 10
    assert "学生001 (#2)" in line.all_messages(LINE_COUNSELOR)[-1].text
    accounts = await world.rows(ChannelAccount, counselor_id=counselor_id)
    assert len(accounts) == 2


async def test_a_send_that_finds_the_student_gone_alerts_the_counselor(
    both_channels: World, tg: FakeTelegram
) -> None:
    world = both_channels
    await tg_counselor(world)
    await tg_student(world, "Linh")
    tg.block(TG_STUDENT)  # no update tells us: the next send finds out
    await world.tg_say(TG_COUNSELOR, "/session 1 visa")
    # The counselor's chat just had its burst (Telegram: about one message a second after it).
    world.clock.advance(timedelta(seconds=5))
    await world.running.dispatcher.tick()
    alerts = [t for t in world.tg_texts(TG_COUNSELOR) if "blocked the bot" in t]
    assert alerts == [
        "Linh (#1) blocked the bot, so no more questions reach them. If you want to stay "
        "in touch, please contact them directly."
    ]
