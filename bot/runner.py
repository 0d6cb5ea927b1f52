"""`furikaeri run`: the channels, the web server and the clock ticks in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import uvicorn

from bot.bootstrap import App, build, start, stop
from bot.config import Settings
from bot.logs import Redactor, secrets_of
from bot.web import create_app

log = logging.getLogger(__name__)

STARTUP_FAILED = 1


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM stops the whole app, not just HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; return the exit code (0 after a clean stop)."""
    app = build(settings)
    if not app.channels:
        await app.db.dispose()
        return 2
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
    _on_signals(server)
    try:
        await start(app)
    except Exception as exc:
        _startup_failed(app, exc)
        with contextlib.suppress(Exception):  # already reported; close what did start
            await stop(app)
        return STARTUP_FAILED
    log.info(
        "furikaeri.started", extra={"channels": sorted(app.channels), "port": settings.http_port}
    )
    try:
        await server.serve()
    finally:
        await stop(app)
        log.info("furikaeri.stopped")
    return 0 if server.started else STARTUP_FAILED


def _on_signals(server: uvicorn.Server) -> None:
    """The first SIGTERM/SIGINT stops gracefully; a second one stops waiting for connections."""
    loop = asyncio.get_running_loop()

    def handle() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, handle)


def _startup_failed(app: App, exc: Exception) -> None:
    """One line on stderr; the exception's text never carries a secret (redacted here)."""
    redact = Redactor(secrets_of(app.settings))
    reason = redact(f"{type(exc).__name__}: {exc}")
    print(f"furikaeri: could not start: {reason[:300]}", file=sys.stderr)
