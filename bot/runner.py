"""`furikaeri run`: the channels, the web server and the clock ticks in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from bot.bootstrap import build, start, stop
from bot.config import Settings
from bot.web import create_app

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM stops the whole app, not just HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings) -> int:
    app = build(settings)
    if not app.channels:
        await app.db.dispose()
        return 2
    await start(app)
    web = create_app(
        webhooks={name: ch.handle_webhook for name, ch in app.channels.items()},
        ping=app.db.ping,
    )
    config = uvicorn.Config(
        web,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    log.info("furikaeri.started", extra={"channels": sorted(app.channels)})
    try:
        await server.serve()
    finally:
        await stop(app)
        log.info("furikaeri.stopped")
    return 0
