"""APScheduler only ticks; every job reads its work from the database. Fixed ids."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers import followups, retention

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

DISPATCH_SECONDS = 5
FOLLOWUP_SECONDS = 60


def register_jobs(scheduler: AsyncIOScheduler, app: App) -> None:
    # misfire_grace_time=None: a tick missed while the process was busy still runs;
    # coalesce: several missed ticks run once (the work is in the database anyway).
    common = {
        "replace_existing": True,
        "coalesce": True,
        "misfire_grace_time": None,
        "max_instances": 1,
    }
    scheduler.add_job(
        app.dispatcher.tick, "interval", seconds=DISPATCH_SECONDS, id="dispatch", **common
    )
    scheduler.add_job(
        _followups, "interval", seconds=FOLLOWUP_SECONDS, args=[app], id="followups", **common
    )
    # The purge also runs at start, so a process restarted daily still purges.
    scheduler.add_job(
        app.engine.run_job,
        "interval",
        hours=24,
        args=[retention.purge],
        id="retention",
        next_run_time=datetime.now(UTC),
        **common,
    )


async def _followups(app: App) -> None:
    """Start due follow-ups, send reminders, expire old questions, in that order."""
    for job in (followups.expire_runs, followups.start_due_runs, followups.send_reminders):
        await app.engine.run_job(job)
