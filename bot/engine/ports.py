"""The inbound ports: where channel adapters hand over updates, and how they read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.engine.events import Inbound, RawEvent


class EventSink(Protocol):
    async def accept(self, events: Sequence[RawEvent]) -> list[bool]:
        """Commit platform updates to the inbox as they are; they are handled later.

        Returns, per event, False when `(channel, event_id)` was already received (a
        duplicate or a redelivery). When this returns, the events are durable, so a
        webhook may answer 200 and a poller may advance its offset.
        """
        ...


class UpdateReader(Protocol):
    """A channel's worker side: what a stored platform update means."""

    async def read(self, body: dict[str, Any]) -> Inbound | None:
        """The neutral event of a stored update, or None when it means nothing to the bot.

        May call the platform (LINE: the profile language); never raises for a bad update.
        """
        ...
