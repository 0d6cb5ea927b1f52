"""The outbound port every channel implements, and the errors it may raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.engine.replies import Reply


@dataclass(frozen=True)
class Limits:
    """The send rates the dispatcher paces each channel to (data, not surprises). Text,
    button and payload sizes are the renderers' business (telegram_send, line_render)."""

    messages_per_second: float  # overall send rate (shared by every process)
    per_chat_interval: float  # seconds between two sends to one chat
    chat_burst: int = 1  # sends one chat may get back to back before the interval applies
    free_replies: bool = False  # replies to an event cost nothing and have no quota (LINE)


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One outbox row on its way out: messages for one chat, sent together or not at all."""

    chat_id: str
    messages: tuple[Reply, ...]
    idempotency_key: str  # stable across retries (LINE X-Line-Retry-Key is a UUID of it)
    reply_token: str = ""  # LINE: a fresh reply token, if there is one


class RetryLater(Exception):
    """A temporary failure (429, 5xx, timeout): try again after `after` seconds.

    `throttled` says what a 429 was about: "chat" (too much to one chat: only that chat
    waits) or "channel" (too much overall: every process slows down)."""

    def __init__(
        self, reason: str, after: float | None = None, *, throttled: str | None = None
    ) -> None:
        super().__init__(reason)
        self.after = after
        self.throttled = throttled


class Unreachable(Exception):
    """The user blocked the bot or the chat is gone: stop sending to them."""


class Rejected(Exception):
    """The platform refused this message for good (a 4xx other than 429): do not retry."""


class Channel(Protocol):
    """What the engine needs from a chat platform to send: a name, its limits, and send."""

    name: str
    limits: Limits

    async def send(self, delivery: Delivery) -> None:
        """Send every message of the delivery, or raise RetryLater / Unreachable / Rejected."""
        ...
