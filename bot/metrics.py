"""The process's metrics for Prometheus (`GET /metrics`): queues, sends, handling latency.

One registry per App, so two apps in one process (tests) never share counts. Labels carry
a channel name or an outcome, never a chat, a person or a text. The queue sizes are read
from the database at each scrape; counters and the histogram count this process's work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from bot.db.uow import Database

# Seconds from an event's arrival to the commit of its handling: a few milliseconds when
# the workers keep up, minutes after an outage.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The metric objects; the dispatcher and the engine count into them."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # process_resident_memory_bytes and friends
        # -- counted by this process --------------------------------------------------------
        self.webhook_events = Counter(
            "furikaeri_inbox_received",
            "Platform events committed to the inbox by this process, by channel and outcome "
            "(new, or duplicate: a redelivery).",
            ["channel", "outcome"],
            registry=registry,
        )
        self._received: dict[tuple[str, bool], Counter] = {}  # labelled once (every webhook)
        self.events_handled = Counter(
            "furikaeri_events_handled",
            "Inbox events handled by this process, by channel and outcome (done, failed).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "furikaeri_event_handling_seconds",
            "Seconds from an event's arrival in the inbox to the commit of its handling.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.sent = Counter(
            "furikaeri_messages_sent",
            "Outbox messages this process delivered, by channel.",
            ["channel"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "furikaeri_send_rate_limited",
            "Sends the platform refused with HTTP 429 (too many requests), by channel.",
            ["channel"],
            registry=registry,
        )
        self.send_failures = Counter(
            "furikaeri_send_failures",
            "Outbox messages given up on (refused, unreachable, too many attempts), by channel.",
            ["channel"],
            registry=registry,
        )
        # -- read from the database at each scrape -------------------------------------------
        self.inbox_pending = Gauge(
            "furikaeri_inbox_pending", "Inbox events waiting to be handled.", registry=registry
        )
        self.inbox_failed = Gauge(
            "furikaeri_inbox_failed",
            "Inbox events whose handling failed (`furikaeri inbox retry`).",
            registry=registry,
        )
        self.inbox_oldest_age = Gauge(
            "furikaeri_inbox_oldest_pending_age_seconds",
            "Age of the oldest event waiting to be handled (0 when none waits).",
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "furikaeri_outbox_pending",
            "Outbox messages waiting to be sent, due or not, by channel.",
            ["channel"],
            registry=registry,
        )
        self.translation_backlog = Gauge(
            "furikaeri_translation_backlog",
            "Answers waiting for a machine translation.",
            registry=registry,
        )
        self._outbox_channels: set[str] = set()

    def count_received(self, channel: str, new: bool) -> None:
        """An event committed to the inbox (new) or found there already (a redelivery)."""
        counter = self._received.get((channel, new))
        if counter is None:
            outcome = "new" if new else "duplicate"
            counter = self._received[(channel, new)] = self.webhook_events.labels(channel, outcome)
        counter.inc()

    def show_channels(self, channels: Iterable[str]) -> None:
        """Start every per-channel series at 0, so a scrape shows them before anything
        happened (Prometheus computes rates from the first sample on)."""
        for channel in channels:
            self._outbox_channels.add(channel)
            for outcome in ("new", "duplicate"):
                self.webhook_events.labels(channel, outcome)
            for outcome in ("done", "failed"):
                self.events_handled.labels(channel, outcome)
            self.handling_seconds.labels(channel)
            for counter in (self.sent, self.rate_limited, self.send_failures):
                counter.labels(channel)

    async def refresh(self, db: Database, now: datetime, channels: Iterable[str] = ()) -> None:
        """Read the queue sizes from the database (one short read-only transaction); the
        outbox of each of `channels` shows, 0 when empty."""
        async with db.uow() as uow:
            pending, oldest = await uow.inbox.pending_summary()
            failed = (await uow.inbox.unhandled_counts()).get("failed", 0)
            outbox = await uow.outbox.pending_by_channel()
            backlog = await uow.translations.backlog()
        self.inbox_pending.set(pending)
        self.inbox_failed.set(failed)
        self.inbox_oldest_age.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        self._outbox_channels |= {*channels, *outbox}  # shown once: back to 0, never away
        for channel in self._outbox_channels:
            self.outbox_pending.labels(channel).set(outbox.get(channel, 0))
        self.translation_backlog.set(backlog)

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)
