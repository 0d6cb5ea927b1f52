"""Translate one Telegram update into at most one neutral Inbound event."""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, ChatMemberUpdated, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType

from bot.engine.events import Inbound, Kind, RawEvent, typed

CHANNEL = "telegram"
# The press on an already-answered keyboard ("✓ label") carries this data; it means nothing.
SPENT_CHOICE = "-"
# Callback data of a button that stays usable after a press (Button.keep) starts with this;
# the adapter strips it, and leaves that keyboard as it is instead of marking it spent.
KEEP_MARK = "!"
# What we ask Telegram for; everything else is never delivered.
ALLOWED_UPDATES = ("message", "edited_message", "channel_post", "callback_query", "my_chat_member")
# Checked in order: an animation also carries `document`, a venue also carries `location`.
MEDIA_TYPES = (
    "sticker",
    "photo",
    "voice",
    "audio",
    "video_note",
    "video",
    "animation",
    "document",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
)
_GROUP_CHATS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL})
_GONE = frozenset({ChatMemberStatus.BANNED, ChatMemberStatus.LEFT})
_PRESENT = frozenset({ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR})


# The parts of an update to_inbound() reads, in the order it looks at them.
_PARTS = ("callback_query", "my_chat_member", "message", "channel_post", "edited_message")


def inbox_entry(raw: dict[str, Any]) -> RawEvent | None:
    """An update (JSON, with an integer update_id) as the inbox keeps it, keyed by update_id
    and ordered by who sent it (the sender, or the chat when no sender is named), or None
    for an update of a kind to_inbound() ignores. Cheap: the JSON is not parsed into PTB."""
    for name in _PARTS:
        part = raw.get(name)
        if not isinstance(part, dict):
            continue
        user = part.get("from")
        chat = part.get("chat")
        if not isinstance(chat, dict) and isinstance(part.get("message"), dict):
            chat = part["message"].get("chat")
        who = user.get("id") if isinstance(user, dict) else None
        if who is None and isinstance(chat, dict):
            who = chat.get("id")
        if who is None:
            return None
        return RawEvent(
            channel=CHANNEL, event_id=str(raw["update_id"]), sender=f"{CHANNEL}:{who}", body=raw
        )
    return None


def to_inbound(update: Update) -> Inbound | None:
    """Return the neutral event for an update, or None when it means nothing to the engine."""
    event_id = str(update.update_id)
    if update.callback_query is not None:
        return _choice(event_id, update.callback_query)
    if update.my_chat_member is not None:
        return _membership(event_id, update.my_chat_member)
    for message in (update.message, update.channel_post):
        if message is not None:
            return _message(event_id, message)
    if update.edited_message is not None:
        return _edit(event_id, update.edited_message)
    return None


def callback_data(data: str, *, keep: bool) -> str:
    """The callback data Telegram carries for a neutral button's data."""
    return KEEP_MARK + data if keep else data


def keeps_keyboard(query: CallbackQuery) -> bool:
    """Whether the pressed button asked to stay usable (its keyboard is not marked)."""
    return bool(query.data and query.data.startswith(KEEP_MARK))


def pressed_label(query: CallbackQuery) -> str | None:
    """Return the label of the button whose data the query carries, if the keyboard shows it."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return None


def _event(
    event_id: str,
    kind: Kind,
    user: User | None,
    chat_id: int,
    *,
    text: str = "",
    data: str = "",
    media_type: str = "",
    message_id: str = "",
) -> Inbound:
    return Inbound(
        kind=kind,
        text=text,
        data=data,
        media_type=media_type,
        **_from(event_id, user, chat_id, message_id),
    )


def _from(event_id: str, user: User | None, chat_id: int, message_id: str) -> dict[str, Any]:
    """Who sent an update, where to, and its ids."""
    return {
        "channel": CHANNEL,
        "event_id": event_id,
        # A channel post has no sender user: the chat itself speaks.
        "user_id": str(user.id if user is not None else chat_id),
        "chat_id": str(chat_id),
        "locale_hint": (user.language_code or "") if user is not None else "",
        "message_id": message_id,
    }


def _group(event_id: str, message: Message) -> Inbound:
    return _event(
        event_id, Kind.GROUP, message.from_user, message.chat.id, message_id=str(message.id)
    )


def _message(event_id: str, message: Message) -> Inbound | None:
    if message.chat.type in _GROUP_CHATS:
        return _group(event_id, message)
    if message.chat.type != ChatType.PRIVATE:
        return None
    user, chat_id, message_id = message.from_user, message.chat.id, str(message.id)
    if message.text is not None:
        return typed(message.text, **_from(event_id, user, chat_id, message_id))
    media_type = next((name for name in MEDIA_TYPES if getattr(message, name)), None)
    if media_type is None:
        return None
    return _event(event_id, Kind.MEDIA, user, chat_id, media_type=media_type, message_id=message_id)


def _edit(event_id: str, message: Message) -> Inbound | None:
    if message.chat.type in _GROUP_CHATS:
        return _group(event_id, message)
    if message.chat.type != ChatType.PRIVATE or message.text is None:
        return None
    return _event(
        event_id,
        Kind.EDIT,
        message.from_user,
        message.chat.id,
        text=message.text,
        message_id=str(message.id),
    )


def _choice(event_id: str, query: CallbackQuery) -> Inbound | None:
    message = query.message
    if message is None or query.data is None or query.data == SPENT_CHOICE:
        return None
    message_id = str(message.message_id)
    if message.chat.type in _GROUP_CHATS:
        return _event(event_id, Kind.GROUP, query.from_user, message.chat.id, message_id=message_id)
    if message.chat.type == ChatType.PRIVATE and message.chat.id != query.from_user.id:
        # In a private chat the chat is the user: a press that says otherwise would act as
        # one person and answer into another's chat. Telegram never sends it; ignore it.
        return None
    return _event(
        event_id,
        Kind.CHOICE,
        query.from_user,
        message.chat.id,
        data=query.data.removeprefix(KEEP_MARK),
        message_id=message_id,
    )


def _membership(event_id: str, change: ChatMemberUpdated) -> Inbound | None:
    old, new = change.old_chat_member.status, change.new_chat_member.status
    if change.chat.type in _GROUP_CHATS:
        added = old in _GONE and new in _PRESENT
        return _event(event_id, Kind.GROUP, change.from_user, change.chat.id) if added else None
    if change.chat.type != ChatType.PRIVATE:
        return None
    if new == ChatMemberStatus.BANNED:
        return _event(event_id, Kind.UNFOLLOW, change.from_user, change.chat.id)
    if new == ChatMemberStatus.MEMBER and old in _GONE:
        return _event(event_id, Kind.FOLLOW, change.from_user, change.chat.id)
    return None
