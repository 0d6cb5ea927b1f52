"""Neutral inbound events: what a channel adapter turns a platform update into."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"  # free text typed by the user
    COMMAND = "command"  # "/name args" (the adapter splits it)
    CHOICE = "choice"  # a button / quick reply / postback press; `data` holds the payload
    EDIT = "edit"  # the user edited an earlier text message (`message_id`, `text`)
    UNSEND = "unsend"  # the user withdrew an earlier message (`message_id`)
    MEDIA = "media"  # sticker, photo, voice, file, location...; `media_type` names it
    FOLLOW = "follow"  # the user added / unblocked the bot
    UNFOLLOW = "unfollow"  # the user blocked the bot
    GROUP = "group"  # anything from a group, supergroup, room or channel chat


@dataclass(frozen=True, kw_only=True)
class Inbound:
    """One thing a user did, in a channel, identified by the platform's own event id.

    `(channel, event_id)` is the inbox key: the same pair twice is handled once.
    `user_id` is the platform's id of the person; `chat_id` is where replies go
    (the same for a 1:1 chat).
    """

    channel: str
    event_id: str
    kind: Kind
    user_id: str
    chat_id: str
    text: str = ""
    command: str = ""
    args: str = ""
    data: str = ""
    media_type: str = ""
    message_id: str = ""
    locale_hint: str = ""  # platform language tag (Telegram language_code, LINE profile)
    reply_token: str = ""  # LINE only: lets the first answer go out as a free reply
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        raw["kind"] = self.kind.value
        raw["received_at"] = self.received_at.isoformat()
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Inbound:
        values = dict(raw)
        values["kind"] = Kind(values["kind"])
        values["received_at"] = datetime.fromisoformat(values["received_at"])
        return cls(**values)


def typed(text: str, **fields: Any) -> Inbound:
    """The event for a line someone typed: a COMMAND when it reads "/name args", else TEXT.
    Either way `text` keeps the line as typed. Every channel turns typed text into events
    through here, so "/Skip@bot" means /skip wherever it was typed."""
    command = parse_command(text)
    if command is None:
        return Inbound(kind=Kind.TEXT, text=text, **fields)
    name, args = command
    return Inbound(kind=Kind.COMMAND, text=text, command=name, args=args, **fields)


@dataclass(frozen=True, kw_only=True)
class RawEvent:
    """A platform update as it arrived, with what the inbox needs to keep it in order.

    The web side stores it as is (a webhook is answered once it is committed); a worker
    turns it into an Inbound later. `sender` is "channel:user id", the same key an Inbound
    of it has, so one person's events are handled in arrival order.
    """

    channel: str
    event_id: str
    sender: str
    body: dict[str, Any]


def parse_command(text: str) -> tuple[str, str] | None:
    """Split "/Name@bot  args" into ("name", "args"); None when it is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    head, _, args = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None
    return name, args.strip()
