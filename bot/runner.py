"""`furikaeri run`: the web server, the channels, the handling and the clock ticks, in one
process (`--role all`) or split into one web process and any number of workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Iterator

import uvicorn

from bot.bootstrap import App, Role, build, metrics_text, start, stop
from bot.config import Settings
from bot.db.migrate import upgrade
from bot.errors import EXIT_USAGE, explain
from bot.logs import Redactor, secrets_of
from bot.prompts import PromptBook
from bot.web import create_app

log = logging.getLogger(__name__)

STARTUP_FAILED = 1
HTTP_GRACE = 2  # seconds uvicorn waits for requests in flight at a SIGTERM


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM stops the whole app, not just HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    settings: Settings, *, prompts: PromptBook | None = None, role: Role = "all"
) -> int:
    """Run until SIGTERM or SIGINT; return the exit code (0 after a clean stop).

    The web server comes up first (right after the migrations), so webhooks are taken
    while the channels start and the backlog of events and messages is worked off."""
    app = build(settings, prompts=prompts, role=role)
    if not app.channels:
        await app.db.dispose()
        return 2
    web = create_app(
        webhooks=app.channels if role != "worker" else {},
        ping=app.db.ping,
        trusted_proxies=settings.trusted_proxy_networks,
        metrics=lambda: metrics_text(app),
    )
    config = uvicorn.Config(
        web,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=HTTP_GRACE,
    )
    server = _Server(config)
    _on_signals(server)
    try:
        await upgrade(app.db.engine)
    except Exception as exc:
        code = _startup_failed(app, exc)
        await app.db.dispose()
        return code
    serving = asyncio.create_task(server.serve(), name="http")
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)
    starting = asyncio.create_task(start(app, migrate=False), name="start")
    try:
        await asyncio.wait({serving, starting}, return_when=asyncio.FIRST_COMPLETED)
        failure = starting.exception() if starting.done() else None
        if isinstance(failure, Exception):
            server.should_exit = True
            await serving
            return _startup_failed(app, failure)
        warn_without_local_contact(app.engine.prompts)
        if starting.done():
            freeze_startup_objects()
        log.info(
            "furikaeri.started",
            extra={"channels": sorted(app.channels), "port": settings.http_port, "role": role},
        )
        await serving
    finally:
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        with contextlib.suppress(Exception):
            await stop(app)
        log.info("furikaeri.stopped")
    return 0 if server.started else STARTUP_FAILED


def freeze_startup_objects() -> None:
    """What was built at start (modules, SDK models, prompts, catalogs) lives as long as the
    process: frozen, the garbage collector stops rescanning it at every full collection,
    which otherwise lands in whatever runs then (measured: 80 ms of a 30,000-answer digest's
    0.5 s, in `make bench`)."""
    gc.collect()
    gc.freeze()


def warn_without_local_contact(prompts: PromptBook) -> None:
    """A student in crisis should see the university's own counseling service first."""
    if not prompts.safety.has_local_contact:
        log.warning(
            "safety.no_local_contact: students in crisis are shown only the shipped national "
            "contacts (119, 110, JNTO). Add your counseling center first in safety.yaml with "
            "`local: true`, in the folder named by FURIKAERI_PROMPTS_DIR (README: Deployment)."
        )


def _on_signals(server: uvicorn.Server) -> None:
    """The first SIGTERM/SIGINT stops gracefully; a second one stops waiting for connections."""
    loop = asyncio.get_running_loop()

    def handle() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, handle)


def _startup_failed(app: App, exc: Exception) -> int:
    """One line on stderr and the exit code; the exception's text never carries a secret
    (redacted here). A known mistake (the database cannot be opened) is a usage error."""
    settings = app.settings
    if (known := explain(exc, settings)) is not None:
        print(f"furikaeri: {known}", file=sys.stderr)
        return EXIT_USAGE
    lines = str(exc).strip().splitlines()  # SQLAlchemy appends a second "Background" line
    redact = Redactor(secrets_of(settings))
    reason = redact(f"{type(exc).__name__}: {lines[0] if lines else ''}")
    print(f"furikaeri: could not start: {reason[:300]}", file=sys.stderr)
    return STARTUP_FAILED
