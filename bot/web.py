"""The web edge: /healthz and the webhooks. Channels verify and translate; this routes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

WebhookHandler = Callable[[Mapping[str, str], bytes], Awaitable[tuple[int, str]]]
MAX_BODY = 1_000_000  # bytes; Telegram and LINE updates are far smaller


class SourceRateLimit:
    """A token bucket per source address: bounded webhook requests per second."""

    def __init__(self, rate: float = 50.0, burst: int = 200, max_sources: int = 10_000) -> None:
        self.rate, self.burst, self.max_sources = rate, burst, max_sources
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, source: str) -> bool:
        now = time.monotonic()
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
    *, webhooks: Mapping[str, WebhookHandler], ping: Callable[[], Awaitable[bool]]
) -> Starlette:
    limiter = SourceRateLimit()

    async def healthz(request: Request) -> Response:
        ok = await ping()
        return JSONResponse(
            {"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503
        )

    async def webhook(request: Request) -> Response:
        handler = webhooks.get(request.path_params["channel"])
        if handler is None:
            return PlainTextResponse("not found", status_code=404)
        source = request.client.host if request.client else "unknown"
        if not limiter.allow(source):
            return PlainTextResponse("too many requests", status_code=429)
        declared = request.headers.get("content-length", "0")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return PlainTextResponse("body too large", status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("body too large", status_code=413)
        status, text = await handler(request.headers, body)
        return PlainTextResponse(text, status_code=status)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/webhook/{channel}", webhook, methods=["POST"]),
        ]
    )
