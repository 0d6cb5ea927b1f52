"""The terminal as a channel: prints replies, turns typed lines into events. For the demo."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from bot.channels.base import Delivery, Limits
from bot.engine.events import Inbound, Kind, typed


class ConsoleChannel:
    name = "console"
    limits = Limits(
        messages_per_second=1000.0,
        per_chat_interval=0.0,
    )

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self._write = write
        self._buttons: dict[str, list[tuple[str, str]]] = {}
        self._ids = itertools.count(1)
        self.names: dict[str, str] = {}  # chat id -> how to show it ("counselor", "student")

    async def send(self, delivery: Delivery) -> None:
        who = self.names.get(delivery.chat_id, delivery.chat_id)
        for message in delivery.messages:
            self._write(f"\n[bot → {who}]")
            self._write(message.text)
            if message.document is not None:
                self._write(
                    f"(file: {message.document.filename}, {len(message.document.content)} bytes)"
                )
            if message.buttons:
                self._buttons[delivery.chat_id] = [(b.label, b.data) for b in message.buttons]
                for number, button in enumerate(message.buttons, start=1):
                    self._write(f"  [{number}] {button.label}")

    def pressed(self, user: str, line: str) -> str | None:
        """The label of the button that `line` presses for this user, if it presses one."""
        number = line.strip().strip("[]")
        buttons = self._buttons.get(user, [])
        if number.isdigit() and 1 <= int(number) <= len(buttons):
            return buttons[int(number) - 1][0]
        return None

    def event(self, user: str, line: str, *, locale_hint: str = "") -> Inbound:
        """Translate a typed line: "[n]" or "n" presses button n of the last keyboard."""
        event_id = f"console-{next(self._ids)}"
        base: dict[str, Any] = {
            "channel": self.name,
            "event_id": event_id,
            "user_id": user,
            "chat_id": user,
            "locale_hint": locale_hint,
            "message_id": event_id,
        }
        stripped = line.strip()
        number = stripped.strip("[]")
        buttons = self._buttons.get(user, [])
        if number.isdigit() and 1 <= int(number) <= len(buttons):
            return Inbound(kind=Kind.CHOICE, data=buttons[int(number) - 1][1], **base)
        return typed(line, **base)
