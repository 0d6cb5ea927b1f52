"""APScheduler only ticks; every job reads its work from the database. Fixed ids.

The jobs live in APScheduler's memory store, so nothing about them survives a restart,
and nothing needs to: a tick finds what is due in the database, including what fell due
while the process was down. That is why every job also runs once right at start, and why
a late tick is never skipped (misfire_grace_time=None) but runs once (coalesce).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers import digest_push, followups, retention

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

DISPATCH_SECONDS = 5
FOLLOWUP_SECONDS = 60
DIGEST_SECONDS = 60
RETENTION_HOURS = 24
JOB_IDS = ("dispatch", "followups", "digest_push", "retention")


def register_jobs(scheduler: AsyncIOScheduler, app: App) -> None:
    """Add (or replace) the ticks under their fixed ids."""
    now = datetime.now(UTC)
    common: dict[str, Any] = {
        "replace_existing": True,
        "coalesce": True,
        "misfire_grace_time": None,
        "max_instances": 1,
    }
    scheduler.add_job(
        app.dispatcher.tick,
        "interval",
        seconds=DISPATCH_SECONDS,
        id="dispatch",
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        run_followups,
        "interval",
        seconds=FOLLOWUP_SECONDS,
        args=[app],
        id="followups",
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        app.engine.run_job,
        "interval",
        seconds=DIGEST_SECONDS,
        args=[digest_push.push_digests],
        id="digest_push",
        next_run_time=now,
        **common,
    )
    scheduler.add_job(
        app.engine.run_job,
        "interval",
        hours=RETENTION_HOURS,
        args=[retention.purge],
        id="retention",
        next_run_time=now,
        **common,
    )


async def run_followups(app: App) -> None:
    """Expire old questions, start due follow-ups, send reminders: in that order, so an
    expired run makes room for the next one. Each step is its own unit of work."""
    for job in (followups.expire_runs, followups.start_due_runs, followups.send_reminders):
        await app.engine.run_job(job)
