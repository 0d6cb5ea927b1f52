"""How fast the dispatcher may send: a channel's shared rate, and each chat's spacing.

The channel's rate is booked in the database (bot/db/repo_budget.py) so that every process
together stays under it; `ChannelRate` is one process's view of that booking. A chat's
spacing is kept in memory: one chat's messages go out one at a time anyway, and the claim
also counts, in the database, what each chat got just now (see `ChatPacing`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from bot.channels.base import Limits
from bot.db.repo_messaging import ClaimedMessage

LOCAL_BURST = 2  # paying sends one process may start back to back beyond the rate
CHANNEL_BACKOFF_MAX = 60.0  # seconds a channel-wide 429 without Retry-After may pause sending
_CHATS_REMEMBERED = 10_000


class ChannelRate:
    """One channel's send rate as this process sees it: how far ahead slots are booked."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = 1.0 / limits.messages_per_second  # seconds between two slots
        self.free_replies = limits.free_replies
        self.booked_until = 0.0  # wall clock; the database knows better (other processes)
        self._throttled = 0  # channel-wide 429s in a row, for the back-off
        self._clock = clock
        self._next_send = 0.0  # monotonic: this process's next send at the full rate

    async def turn(self) -> None:
        """Wait until this process may start another paying send: never faster than the
        rate, so sends whose slots passed while the process was busy (a long transaction,
        a slow database) catch up at the rate instead of all at once."""
        now = self._clock()
        at = max(now, self._next_send - LOCAL_BURST * self.gap)
        self._next_send = max(self._next_send, at) + self.gap
        if at > now:
            await asyncio.sleep(at - now)

    def needs_slot(self, row: ClaimedMessage) -> bool:
        """Whether sending this row uses the rate (a free reply does not)."""
        return not (self.free_replies and row.reply_token)

    def room(self, now: float, horizon: float, limit: int) -> int:
        """How many rows to claim now: those whose slots fall within `horizon` seconds, so
        no claimed row waits long for its turn (its lease runs meanwhile)."""
        free_from = max(self.booked_until, now)
        if free_from > now + horizon:
            return 0
        return max(1, min(limit, int((now + horizon - free_from) / self.gap)))

    def room_in(self, now: float, horizon: float, slots: int) -> float:
        """Seconds until `room` is at least `slots`."""
        return max(0.0, self.booked_until + slots * self.gap - horizon - now)

    def backoff(self, after: float | None) -> float:
        """Seconds every process pauses after a channel-wide 429: what the platform said,
        else 1, 2, 4 ... up to a minute while they go on."""
        self._throttled += 1
        if after is not None:
            return after
        return float(min(CHANNEL_BACKOFF_MAX, 2 ** (self._throttled - 1)))

    def recovered(self) -> None:
        self._throttled = 0


class ChatSpacing:
    """Per chat, at most `burst` messages back to back, then one every `interval` seconds
    (a generic cell rate algorithm on the monotonic clock)."""

    def __init__(
        self, interval: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.tolerance = max(0, burst - 1) * interval
        self._clock = clock
        self._next: dict[str, float] = {}  # chat -> theoretical time of its next message

    async def wait(self, chat_id: str, *, until: float = math.inf) -> bool:
        """Take this chat's next turn, sleeping until it comes; False (and no turn taken)
        when it comes only after `until` (monotonic)."""
        if self.interval <= 0:
            return True
        now = self._clock()
        due = self._next.get(chat_id, now)
        at = max(now, due - self.tolerance)
        if at > until:
            return False
        self._next[chat_id] = max(due, at) + self.interval  # taken before sleeping
        self._forget_old(now)
        if at > now:
            await asyncio.sleep(at - now)
        return True

    def hold(self, chat_id: str, seconds: float) -> None:
        """The platform said this chat must wait: its next turn is `seconds` away."""
        self._next[chat_id] = self._clock() + seconds + self.tolerance

    def _forget_old(self, now: float) -> None:
        if len(self._next) > _CHATS_REMEMBERED:
            self._next = {chat: due for chat, due in self._next.items() if due > now}
