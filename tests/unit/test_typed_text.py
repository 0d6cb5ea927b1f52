"""Typed text becomes the same event on every channel: one conversion (bot/engine/events.py
`typed`), used by the Telegram and LINE translators, the demo's console and tests/harness.py."""

from __future__ import annotations

import pytest
from telegram import Update

from bot.channels.console import ConsoleChannel
from bot.channels.line_events import translate
from bot.channels.telegram_translate import to_inbound
from bot.engine.events import Inbound, Kind
from tests.fakes.line_api import line_event_text
from tests.fakes.telegram_api import FakeTelegram

LINES = {
    "/Skip@furikaeri_bot": (Kind.COMMAND, "skip", ""),
    "  /pause   3 ": (Kind.COMMAND, "pause", "3"),
    "/start abc-DEF_123": (Kind.COMMAND, "start", "abc-DEF_123"),
    "/": (Kind.TEXT, "", ""),
    "/etc/hosts": (Kind.TEXT, "", ""),
    "I'll /skip this": (Kind.TEXT, "", ""),
    "日本語で /help": (Kind.TEXT, "", ""),
}


def on_every_channel(line: str) -> dict[str, Inbound | None]:
    return {
        "telegram": to_inbound(Update.de_json(FakeTelegram().text_update(31, line), None)),
        "line": translate(line_event_text("U" + "1" * 32, line)),
        "console": ConsoleChannel(lambda _: None).event("student", line),
    }


@pytest.mark.parametrize("line", list(LINES))
def test_a_typed_line_is_the_same_event_on_every_channel(line: str) -> None:
    kind, command, args = LINES[line]
    for channel, event in on_every_channel(line).items():
        assert event is not None, channel
        assert (event.kind, event.command, event.args, event.text) == (kind, command, args, line)
