"""The wire format of button data: "prefix:part:part", short ASCII, one family per prefix.

Each button family has one codec (a dataclass per payload, in handlers/buttons.py) built on
`pack` and `unpack`, so the code that makes a button and the code that reads it cannot
drift apart. A press carries everything it needs, so it still works after a restart, and
it comes back from the client: `unpack` refuses anything malformed instead of raising.
"""

from __future__ import annotations

from typing import ClassVar

from bot.engine.replies import Button

SEPARATOR = ":"
# Telegram's callback_data holds 64 bytes, LINE's postback data 300 characters: the
# tighter one binds, less one byte the Telegram adapter may add (its mark for a button that
# stays usable, Button.keep). Data is ASCII, so bytes and characters count the same.
MAX_DATA_BYTES = 63


class ButtonData:
    """One payload of a button family: `PREFIX` names the family, `parts()` the rest."""

    PREFIX: ClassVar[str]

    def parts(self) -> tuple[str, ...]:
        raise NotImplementedError

    def encode(self) -> str:
        return pack(self.PREFIX, *self.parts())

    def button(self, label: str, *, keep: bool = False) -> Button:
        """A button with this data; `keep`: it stays usable after a press (Button.keep)."""
        return Button(label, self.encode(), keep=keep)


def pack(prefix: str, *parts: str) -> str:
    """Join a payload; a part that would break the format is a bug here, not bad input."""
    for part in (prefix, *parts):
        if SEPARATOR in part or not part.isascii():
            raise ValueError(f"button data part {part!r} is not plain ASCII without ':'")
    data = SEPARATOR.join((prefix, *parts))
    if len(data) > MAX_DATA_BYTES:
        raise ValueError(f"button data over {MAX_DATA_BYTES} bytes: {data[:20]!r}…")
    return data


def unpack(data: str, prefix: str) -> list[str] | None:
    """The parts after `prefix`, or None when the data is not of this family or malformed."""
    if len(data) > MAX_DATA_BYTES or not data.isascii():
        return None
    head, *parts = data.split(SEPARATOR)
    if head != prefix or any(not part for part in parts):
        return None
    return parts


def prefix_of(data: str) -> str:
    """The family a button's data claims to belong to ("" for none)."""
    return data.split(SEPARATOR, 1)[0]


def small_int(raw: str) -> int | None:
    """A non-negative id or index from button data (at most 12 digits), else None."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None
