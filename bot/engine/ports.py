"""The inbound port: where channel adapters hand over neutral events."""

from __future__ import annotations

from typing import Protocol

from bot.engine.events import Inbound


class EventSink(Protocol):
    async def receive(self, event: Inbound) -> bool:
        """Commit the event to the inbox and schedule its handling.

        Returns False when `(channel, event_id)` was already received (a duplicate or a
        redelivery): the caller acknowledges it and does nothing else. When this returns,
        the event is durable, so a webhook may answer 200 and a poller may advance its offset.
        """
        ...
