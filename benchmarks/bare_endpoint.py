"""The baseline for webhook intake: the same stack (Starlette on uvicorn) that only checks
the LINE signature or the Telegram secret and answers 200. Run as its own process:

    python -m benchmarks.bare_endpoint PORT LINE_SECRET TELEGRAM_SECRET
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def create_app(line_secret: str, telegram_secret: str) -> Starlette:
    async def line(request: Request) -> Response:
        body = await request.body()
        digest = hmac.new(line_secret.encode(), body, hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, request.headers.get("x-line-signature", "")):
            return PlainTextResponse("bad signature", status_code=400)
        return PlainTextResponse("ok")

    async def telegram(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given, telegram_secret):
            return PlainTextResponse("forbidden", status_code=403)
        await request.body()
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/webhook/line", line, methods=["POST"]),
            Route("/webhook/telegram", telegram, methods=["POST"]),
        ]
    )


if __name__ == "__main__":
    port, line_secret, telegram_secret = sys.argv[1], sys.argv[2], sys.argv[3]
    uvicorn.run(
        create_app(line_secret, telegram_secret),
        host="127.0.0.1",
        port=int(port),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
