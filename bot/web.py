"""The web edge: /healthz and the webhooks. Channels verify and translate; this routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

WebhookHandler = Callable[[Mapping[str, str], bytes], Awaitable[tuple[int, str]]]
MAX_BODY = 1_000_000  # bytes; Telegram and LINE updates are far smaller
PING_TIMEOUT = 5.0  # seconds; a database that does not answer by then is unhealthy


class SourceRateLimit:
    """A token bucket per source address: bounded webhook requests per second."""

    def __init__(
        self,
        rate: float = 50.0,
        burst: int = 200,
        max_sources: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_sources = rate, burst, max_sources
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, source: str) -> bool:
        now = self._clock()
        tokens, last = self._buckets.get(source, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if len(self._buckets) >= self.max_sources and source not in self._buckets:
            self._buckets.clear()  # bounded memory; a burst of new sources resets the table
        if tokens < 1:
            self._buckets[source] = (tokens, now)
            return False
        self._buckets[source] = (tokens - 1, now)
        return True


def create_app(
    *,
    webhooks: Mapping[str, WebhookHandler],
    ping: Callable[[], Awaitable[bool]],
    max_body: int = MAX_BODY,
    limiter: SourceRateLimit | None = None,
) -> Starlette:
    """The ASGI app: GET /healthz, POST /webhook/{channel} for each channel given."""
    limiter = limiter or SourceRateLimit()

    async def healthz(request: Request) -> Response:
        try:
            ok = await asyncio.wait_for(ping(), PING_TIMEOUT)
        except Exception:
            ok = False
        return JSONResponse(
            {"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503
        )

    async def webhook(request: Request) -> Response:
        name = request.path_params["channel"]
        handler = webhooks.get(name)
        if handler is None:
            return PlainTextResponse("not found", status_code=404)
        source = request.client.host if request.client else "unknown"
        if not limiter.allow(source):
            log.warning("web.rate_limited", extra={"channel": name})
            return PlainTextResponse("too many requests", status_code=429)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            return PlainTextResponse("body too large", status_code=413)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_body:
                    return PlainTextResponse("body too large", status_code=413)
                chunks.append(chunk)
        except ClientDisconnect:
            return PlainTextResponse("client went away", status_code=400)
        status, text = await handler(request.headers, b"".join(chunks))
        return PlainTextResponse(text, status_code=status)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/webhook/{channel}", webhook, methods=["POST"]),
        ]
    )
