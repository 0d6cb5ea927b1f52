"""APScheduler only ticks; every job reads its work from the database. Fixed ids.

The jobs live in APScheduler's memory store, so nothing about them survives a restart,
and nothing needs to: a tick finds what is due in the database, including what fell due
while the process was down. That is why a job also runs once right at start (unless the
start does that work itself: sending, pending events), and why a late tick is never
skipped (misfire_grace_time=None) but runs once (coalesce).

Which jobs there are is not this module's business: the composition root
(bot/bootstrap.py) hands it the table, because the jobs are features (handlers/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler


@dataclass(frozen=True)
class Tick:
    """One scheduled job: its fixed id, how often it runs, and what it does."""

    id: str
    every: timedelta
    run: Callable[[], Awaitable[Any]]
    at_start: bool = True  # also run right away, for what fell due while down
    # Runs of it at once. A quick tick whose work can outlast its interval takes 2 and
    # returns at once while the long one goes on (so it is never "skipped" with a warning).
    instances: int = 1


def register_jobs(scheduler: AsyncIOScheduler, ticks: Sequence[Tick]) -> None:
    """Add (or replace) the ticks under their fixed ids."""
    now = datetime.now(UTC)
    for tick in ticks:
        extra: dict[str, Any] = {"next_run_time": now} if tick.at_start else {}
        scheduler.add_job(
            tick.run,
            "interval",
            seconds=tick.every.total_seconds(),
            id=tick.id,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=None,
            max_instances=tick.instances,
            **extra,
        )
