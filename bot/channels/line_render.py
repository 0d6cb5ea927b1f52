"""Render neutral Replies as LINE message objects, within LINE's limits."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from linebot.v3.messaging import PostbackAction, QuickReply, QuickReplyItem, TextMessage

from bot.channels.base import Rejected
from bot.engine.replies import Button, Reply
from bot.text import split_text

log = logging.getLogger(__name__)

MAX_TEXT = 5000  # LINE counts UTF-16 code units
MAX_MESSAGES_PER_REQUEST = 5
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL = 20  # LINE counts grapheme clusters; cutting code points stays within it
MAX_POSTBACK_DATA = 300
MAX_DISPLAY_TEXT = 300

# Fixed forever: X-Line-Retry-Key values derive from it, so a delivery retried by another
# process or after a restart sends the same keys and LINE answers 409 instead of resending.
RETRY_KEY_NAMESPACE = uuid.UUID("0c0ac4c7-ba9f-43a3-a2b0-9cf2d3ae8ef5")


def retry_key(idempotency_key: str, batch_index: int) -> str:
    """The X-Line-Retry-Key (a UUID) for one request of a delivery."""
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{idempotency_key}:{batch_index}"))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_for_line(text: str) -> list[str]:
    """Split text into LINE-sized chunks; nothing is dropped, empty chunks are left out."""
    chunks: list[str] = []
    for chunk in split_text(text, MAX_TEXT):
        if utf16_len(chunk) <= MAX_TEXT:
            chunks.append(chunk)
        else:  # astral characters (emoji...) count twice; half the limit always fits
            chunks.extend(split_text(chunk, MAX_TEXT // 2))
    return [chunk for chunk in chunks if chunk]


def render(replies: Sequence[Reply]) -> list[TextMessage]:
    """Text messages for the replies, in order; buttons become a quick reply on the last.

    LINE cannot edit a sent message: a reply that `replaces` one goes out as a new message
    (its quick reply is the live one; LINE hides the older ones once the user taps)."""
    messages: list[TextMessage] = []
    for reply in replies:
        if reply.document is not None:
            log.debug("LINE bots cannot send files; document skipped")
        chunks = split_for_line(reply.text)
        if not chunks:
            if reply.buttons:
                log.warning("a LINE reply with buttons but no text was skipped")
            continue
        quick_reply = quick_reply_for(reply.buttons) if reply.buttons else None
        for chunk in chunks[:-1]:
            messages.append(TextMessage(text=chunk))
        messages.append(TextMessage(text=chunks[-1], quick_reply=quick_reply))
    return messages


def quick_reply_for(buttons: Sequence[Button]) -> QuickReply:
    if len(buttons) > MAX_QUICK_REPLY_ITEMS:
        log.warning("%d buttons: LINE shows the first %d", len(buttons), MAX_QUICK_REPLY_ITEMS)
    items = []
    for button in buttons[:MAX_QUICK_REPLY_ITEMS]:
        if len(button.data) > MAX_POSTBACK_DATA:
            raise Rejected(f"button data longer than {MAX_POSTBACK_DATA} characters")
        action = PostbackAction(
            label=short_label(button.label),
            data=button.data,
            display_text=button.label[:MAX_DISPLAY_TEXT],
        )
        items.append(QuickReplyItem(action=action))
    return QuickReply(items=items)


def short_label(label: str) -> str:
    """The label within LINE's 20 characters; a cut one ends with "…" (the full text is
    still what the chat shows once pressed)."""
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def batches(messages: list[TextMessage]) -> list[list[TextMessage]]:
    """Groups of at most 5 messages, the most LINE takes in one request."""
    size = MAX_MESSAGES_PER_REQUEST
    return [messages[i : i + size] for i in range(0, len(messages), size)]
