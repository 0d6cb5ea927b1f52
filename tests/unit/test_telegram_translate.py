"""Telegram translation, error mapping and rendering, without a network."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from telegram import Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.channels.base import Rejected, RetryLater, Unreachable
from bot.channels.telegram_errors import RedactToken, verdict
from bot.channels.telegram_polling import readable_or_blank
from bot.channels.telegram_send import keyboard, plan
from bot.channels.telegram_translate import pressed_label, to_inbound
from bot.engine.events import Kind
from bot.engine.replies import Button, Document, Reply
from tests.fakes.telegram_api import FakeTelegram

USER = 31


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


def parse(raw: dict[str, Any]) -> Update:
    return Update.de_json(raw, None)


def test_text_keeps_every_character(fake: FakeTelegram) -> None:
    text = "  Ça va? 日本語 🇯🇵\r\n\tend "

    event = to_inbound(parse(fake.text_update(USER, text, language_code="pt-br")))

    assert event is not None
    assert (event.kind, event.text, event.locale_hint) == (Kind.TEXT, text, "pt-br")


def test_a_slash_alone_or_a_path_is_text_not_a_command(fake: FakeTelegram) -> None:
    for text in ("/", "/ yes", "/etc/hosts"):
        event = to_inbound(parse(fake.text_update(USER, text)))
        assert event is not None
        assert event.kind is Kind.TEXT, text


def test_a_message_with_nothing_we_know_translates_to_nothing(fake: FakeTelegram) -> None:
    raw = fake.text_update(USER, "x")
    del raw["message"]["text"]

    assert to_inbound(parse(raw)) is None


def test_a_channel_post_speaks_for_its_chat(fake: FakeTelegram) -> None:
    event = to_inbound(parse(fake.channel_post_update(-1001, "news")))

    assert event is not None
    assert (event.kind, event.user_id, event.chat_id, event.text) == (
        Kind.GROUP,
        "-1001",
        "-1001",
        "",
    )


def test_being_added_to_a_group_is_a_group_event_and_leaving_is_nothing(
    fake: FakeTelegram,
) -> None:
    added = fake.member_update(USER, "left", "member", chat_type="group", chat_id=-5)
    removed = fake.member_update(USER, "member", "left", chat_type="group", chat_id=-5)

    event = to_inbound(parse(added))
    assert event is not None
    assert (event.kind, event.chat_id) == (Kind.GROUP, "-5")
    assert to_inbound(parse(removed)) is None


def test_a_press_on_the_spent_keyboard_is_nothing(fake: FakeTelegram) -> None:
    assert to_inbound(parse(fake.callback_update(USER, "-", buttons=[("✓ Yes", "-")]))) is None


def test_pressed_label_is_looked_up_in_the_keyboard(fake: FakeTelegram) -> None:
    buttons = [("One", "a"), ("Two", "b")]
    found = parse(fake.callback_update(USER, "b", buttons=buttons)).callback_query
    missing = parse(fake.callback_update(USER, "z", buttons=buttons)).callback_query
    assert found is not None
    assert missing is not None

    assert pressed_label(found) == "Two"
    assert pressed_label(missing) is None


def test_an_unreadable_update_is_blanked_to_its_id(fake: FakeTelegram) -> None:
    raw = fake.media_update(USER, "poll")
    del raw["message"]["poll"]["options"][0]["persistent_id"]

    assert readable_or_blank(raw) == {"update_id": raw["update_id"]}
    readable = fake.text_update(USER, "ok")
    assert readable_or_blank(readable) is readable


@pytest.mark.parametrize(
    ("error", "expected", "after"),
    [
        (RetryAfter(12), RetryLater, 12.0),
        (Forbidden("Forbidden: bot was blocked by the user"), Unreachable, None),
        (Forbidden("Forbidden: user is deactivated"), Unreachable, None),
        (BadRequest("Bad Request: chat not found"), Unreachable, None),
        (BadRequest("Bad Request: message is too long"), Rejected, None),
        (TimedOut(), RetryLater, None),
        (NetworkError("Internal Server Error (500)"), RetryLater, None),
        (InvalidToken(), RetryLater, None),
    ],
)
def test_errors_map_to_verdicts(error: Exception, expected: type, after: float | None) -> None:
    outcome = verdict(error)  # type: ignore[arg-type]

    assert isinstance(outcome, expected)
    if isinstance(outcome, RetryLater):
        assert outcome.after == after


def test_message_not_modified_is_success() -> None:
    assert verdict(BadRequest("Bad Request: message is not modified: same content")) is None


def test_keyboard_rows_follow_columns() -> None:
    buttons = [Button(str(n), str(n)) for n in range(5)]

    markup = keyboard(buttons, 2)

    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["0", "1"],
        ["2", "3"],
        ["4"],
    ]
    assert keyboard([], 3) is None


def test_plan_counts_one_call_per_message() -> None:
    doc = Document("a.json", b"{}")
    replies = [
        Reply(text="a" * 5000),  # two chunks
        Reply(text="caption", document=doc),  # one document with its caption
        Reply(text="b" * 2000, document=doc),  # one text, then the document
    ]

    assert len(plan(1, replies)) == 5


def test_redaction_masks_the_token_in_sdk_logs() -> None:
    redact = RedactToken("123:SECRET", None)
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: POST %s",
        ("http://x/bot123:SECRET/getMe",),
        None,
    )
    dump = logging.LogRecord("telegram.Bot", logging.DEBUG, __file__, 1, "params %s", ("hi",), None)

    assert redact.filter(record)
    assert record.getMessage() == "HTTP Request: POST http://x/bot<redacted>/getMe"
    assert not redact.filter(dump)
