"""Run an ASGI app on 127.0.0.1 in a background thread, on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """`with LocalServer(app) as server: server.url` — a real HTTP server for one test."""

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("local server did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class Swappable:
    """An ASGI app that forwards to whichever fake the running test plugged in, so one
    server (which costs ~0.2 s to start) serves many tests, each with a fresh fake."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no fake plugged in"
        await self.app(scope, receive, send)


def serve_swappable() -> Iterator[tuple[LocalServer, Swappable]]:
    """For a module- or session-scoped fixture: `yield from serve_swappable()`."""
    holder = Swappable()
    with LocalServer(holder) as running:
        yield running, holder
