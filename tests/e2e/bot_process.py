"""A real furikaeri process for the crash tests: built by bot.bootstrap from FURIKAERI_* env.

Test knobs, both optional: E2E_LEASE_SECONDS (the outbox lease, so the claims of a killed
process run out quickly) and E2E_TICK_SECONDS (the dispatch and follow-up ticks; empty:
the ticks `furikaeri run` has). It prints
"ready" once started, and on SIGTERM stops cleanly and prints its dispatcher's counts as JSON.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
from datetime import timedelta

from bot.bootstrap import build, start, stop
from bot.config import load_settings


async def main() -> int:
    app = build(load_settings())
    app.dispatcher.lease = timedelta(seconds=float(os.environ.get("E2E_LEASE_SECONDS", "60")))
    for channel in app.channels.values():  # Telegram's 1 s per chat would only slow the test
        channel.limits = dataclasses.replace(channel.limits, per_chat_interval=0.0)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await start(app)
    assert app.scheduler is not None
    tick = os.environ.get("E2E_TICK_SECONDS", "0.1")
    for job_id in ("dispatch", "followups") if tick else ():
        app.scheduler.reschedule_job(job_id, trigger="interval", seconds=float(tick))
    print("ready", flush=True)
    await stopping.wait()
    await stop(app)
    print(json.dumps(dict(app.dispatcher.stats)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
