"""The web edge: /healthz and the webhooks. Channels verify and translate; this routes."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; Telegram and LINE updates are far smaller
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PING_TIMEOUT = 5.0  # seconds; a database that does not answer by then is unhealthy
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Webhook(Protocol):
    """A channel's webhook: a cheap check that a request is the platform's, and the handling."""

    def authentic(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the request carries the platform's secret or signature."""
        ...

    async def handle_webhook(
        self, headers: Mapping[str, str], body: bytes, *, verified: bool = False
    ) -> tuple[int, str]:
        """Verify (unless `authentic` already said yes), commit the update to the inbox as
        it came, and say what to answer (status, text). Translation and handling happen
        later, in a worker."""
        ...


class SourceRateLimit:
    """A token bucket per source address: bounded refused webhook requests per second."""

    def __init__(
        self,
        rate: float = 2.0,
        burst: int = 30,
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


def client_address(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """Where a request comes from: the peer, or, when the peer is a trusted reverse proxy,
    the nearest address in X-Forwarded-For that is not one of the trusted proxies (the
    ones further left could be written by anyone)."""
    if not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def create_app(
    *,
    webhooks: Mapping[str, Webhook],
    ping: Callable[[], Awaitable[bool]],
    max_body: int = MAX_BODY,
    limiter: SourceRateLimit | None = None,
    trusted_proxies: Sequence[Network] = (),
    metrics: Callable[[], Awaitable[bytes]] | None = None,
) -> Starlette:
    """The ASGI app: GET /healthz, GET /metrics (when given: Prometheus' text format),
    POST /webhook/{channel} for each channel given.

    Only requests that fail the platform's check are rate-limited (per source address), so
    junk sent from the address genuine updates also come from (a shared reverse proxy) can
    never starve them.
    """
    limiter = limiter or SourceRateLimit()

    async def healthz(request: Request) -> Response:
        try:
            ok = await asyncio.wait_for(ping(), PING_TIMEOUT)
        except Exception:
            ok = False
        return JSONResponse(
            {"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503
        )

    def webhook(hook: Webhook) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
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
            body = b"".join(chunks)
            verified = hook.authentic(request.headers, body)
            if not verified:
                peer = request.client.host if request.client else "unknown"
                forwarded = request.headers.get("x-forwarded-for", "")
                if not limiter.allow(client_address(peer, forwarded, trusted_proxies)):
                    return PlainTextResponse("too many requests", status_code=429)
            status, text = await hook.handle_webhook(request.headers, body, verified=verified)
            return PlainTextResponse(text, status_code=status)

        return receive

    async def metrics_page(request: Request) -> Response:
        assert metrics is not None
        try:
            body = await asyncio.wait_for(metrics(), PING_TIMEOUT)
        except Exception as exc:
            log.warning("metrics.unavailable", extra={"error": type(exc).__name__})
            return PlainTextResponse("database unavailable", status_code=503)
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    # The webhooks first, one route each (a path without parameters): they are what the
    # server takes most of. Any other channel's path is a 404.
    routes = [
        *(
            Route(f"/webhook/{name}", webhook(hook), methods=["POST"])
            for name, hook in webhooks.items()
        ),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics_page, methods=["GET"]))
    return Starlette(routes=routes)
