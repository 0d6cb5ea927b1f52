"""Rate limits as a platform enforces them: token buckets, and what they refused.

The fakes switch them on with `enforce_limits(...)`; off by default, so tests about other
things never see a 429 they did not ask for. Thread-safe (the fakes serve from a thread).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class Bucket:
    """`rate` tokens a second, at most `burst` saved up; full at first."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def wait(self) -> float:
        """Seconds until the next token (0 when there is one)."""
        return max(0.0, (1 - self.tokens) / self.rate)


class Limiter:
    """One bucket for the whole bot and one per chat (either may be off); counts refusals.

    `accepted` keeps the monotonic time of every request let through, so a benchmark can
    see the rate the platform actually received."""

    def __init__(
        self,
        *,
        per_bot: float | None,
        bot_burst: float,
        per_chat: float | None,
        chat_burst: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_bot, self.bot_burst = per_bot, bot_burst
        self.per_chat, self.chat_burst = per_chat, chat_burst
        self.clock = clock
        self.refused = 0
        self.refusals: list[tuple[float, str]] = []  # when, and "bot" or "chat"
        self.accepted: list[float] = []
        self._bot: Bucket | None = None
        self._chats: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, chat: str) -> int | None:
        """None when the request may go (a token is taken from each bucket); else the whole
        seconds to wait, as Telegram's retry_after (a refusal takes nothing)."""
        with self._lock:
            now = self.clock()
            buckets = []
            if self.per_bot is not None:
                self._bot = self._bot or Bucket(self.per_bot, self.bot_burst, now)
                buckets.append(self._bot)
            if self.per_chat is not None:
                if chat not in self._chats:
                    self._chats[chat] = Bucket(self.per_chat, self.chat_burst, now)
                buckets.append(self._chats[chat])
            for bucket in buckets:
                bucket.refill(now)
            short = [bucket for bucket in buckets if bucket.tokens < 1]
            if short:
                self.refused += 1
                self.refusals.append((now, "bot" if self._bot in short else "chat"))
                return max(1, math.ceil(max(bucket.wait() for bucket in short)))
            for bucket in buckets:
                bucket.tokens -= 1
            self.accepted.append(now)
            return None
