"""Translate LINE webhook events (the JSON LINE posts) into neutral Inbound events.

Works on the raw JSON rather than the SDK's webhook models: those models reject events
missing a field they mark required (or of a type they do not know yet), and an event
dropped here is an answer lost.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot.engine.events import Inbound, Kind, RawEvent, typed

log = logging.getLogger(__name__)

CHANNEL = "line"

# Kinds that may carry the user's language from the LINE profile.
PROFILE_KINDS = frozenset({Kind.FOLLOW, Kind.TEXT, Kind.COMMAND, Kind.CHOICE, Kind.MEDIA})


def inbox_entry(raw: Any) -> RawEvent | None:
    """A webhook event as the inbox keeps it, keyed by its webhookEventId and ordered by who
    sent it (the user; in a group or room without a user, the group), or None when it names
    neither (translate() would ignore it too). Cheap: no translation here."""
    if not isinstance(raw, dict):
        return None
    event_id = _str(raw.get("webhookEventId"))
    source = _dict(raw.get("source"))
    who = _str(source.get("userId")) or _str(source.get("groupId")) or _str(source.get("roomId"))
    if not event_id or not who:
        return None
    return RawEvent(channel=CHANNEL, event_id=event_id, sender=f"{CHANNEL}:{who}", body=raw)


def translate(raw: Any) -> Inbound | None:
    """One LINE webhook event -> an Inbound, or None for events furikaeri ignores.

    Ignored: leave, memberJoined, memberLeft, unsend and edits in groups, and every event
    type that is not about a user talking to the bot (beacon, accountLink, ...).
    """
    if not isinstance(raw, dict):
        return None
    event_type = _str(raw.get("type"))
    event_id = _str(raw.get("webhookEventId"))
    source = _dict(raw.get("source"))
    if not event_id:
        log.warning("LINE %s event without webhookEventId ignored", event_type or "unknown")
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "event_id": event_id,
        "reply_token": _str(raw.get("replyToken")),
        "received_at": _timestamp(raw.get("timestamp")),
    }
    source_type = _str(source.get("type"))
    user_id = _str(source.get("userId"))
    if source_type in ("group", "room"):
        return _from_group(event_type, source, user_id, base)
    if source_type != "user" or not user_id:
        log.info("LINE %s event from a %r source ignored", event_type, source_type)
        return None
    base.update(user_id=user_id, chat_id=user_id)
    return _from_user(raw, event_type, base)


def _from_group(
    event_type: str, source: dict[str, Any], user_id: str, base: dict[str, Any]
) -> Inbound | None:
    if event_type not in ("join", "message", "postback"):
        return None
    chat_id = _str(source.get("groupId")) or _str(source.get("roomId"))
    if not chat_id:
        return None
    # A join event names no user; the group stands in for one.
    return Inbound(kind=Kind.GROUP, user_id=user_id or chat_id, chat_id=chat_id, **base)


def _from_user(raw: dict[str, Any], event_type: str, base: dict[str, Any]) -> Inbound | None:
    if event_type == "message":
        return _from_message(_dict(raw.get("message")), base)
    if event_type == "messageEdited":
        message = _dict(raw.get("message"))
        if _str(message.get("type")) != "text":
            return None
        text = _str(message.get("text"))
        return Inbound(kind=Kind.EDIT, text=text, message_id=_str(message.get("id")), **base)
    if event_type == "postback":
        data = _str(_dict(raw.get("postback")).get("data"))
        return Inbound(kind=Kind.CHOICE, data=data, **base)
    if event_type == "follow":
        return Inbound(kind=Kind.FOLLOW, **base)
    if event_type == "unfollow":
        return Inbound(kind=Kind.UNFOLLOW, **base)
    if event_type == "unsend":
        message_id = _str(_dict(raw.get("unsend")).get("messageId"))
        return Inbound(kind=Kind.UNSEND, message_id=message_id, **base)
    log.info("LINE %s event ignored", event_type or "untyped")
    return None


def _from_message(message: dict[str, Any], base: dict[str, Any]) -> Inbound:
    message_type = _str(message.get("type"))
    message_id = _str(message.get("id"))
    if message_type != "text":
        return Inbound(
            kind=Kind.MEDIA, media_type=message_type or "unknown", message_id=message_id, **base
        )
    return typed(_str(message.get("text")), message_id=message_id, **base)


def _timestamp(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return datetime.now(UTC)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
