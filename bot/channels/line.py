"""The LINE channel: signed webhooks in, Messaging API calls out. It translates, nothing else.

The Messaging API side (bot/channels/line_messaging.py, line-bot-sdk) is imported when the
channel starts, after the web server is up: webhooks need only the signature check."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import importlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.channels.base import Delivery, Limits
from bot.channels.line_events import PROFILE_KINDS, inbox_entry, translate
from bot.channels.lru import Lru
from bot.channels.webhook_json import NotAnUpdate, parse_body
from bot.engine.events import Inbound, Kind
from bot.engine.ports import EventSink

if TYPE_CHECKING:
    from bot.channels.line_messaging import LineMessaging

log = logging.getLogger(__name__)

MESSAGING = "bot.channels.line_messaging"


class LineChannel:
    """Translate LINE webhooks into Inbound events and Deliveries into Messaging API calls."""

    name = "line"

    def __init__(
        self,
        *,
        channel_secret: str,
        access_token: str,
        sink: EventSink,
        api_url: str = "https://api.line.me",
        messages_per_second: float = 10.0,
        request_timeout: float = 10.0,
    ) -> None:
        self.limits = Limits(
            messages_per_second=messages_per_second,  # pushes only: replies are free
            per_chat_interval=0.0,
            free_replies=True,
        )
        self._secret = channel_secret.encode()
        self._access_token = access_token
        self._sink = sink
        self._api_url = api_url.rstrip("/")
        self._timeout = request_timeout
        self._out: LineMessaging | None = None
        self._languages = Lru(10_000)  # user id -> profile language ("" when unknown)

    async def start(self, *, receive: bool = True, send: bool = True) -> None:
        """Open the Messaging API client (inside the running event loop). LINE posts its
        webhooks to the URL set in its console: nothing to register, whatever `receive`
        says. The SDK is imported in a thread: the event loop goes on taking webhooks. A
        web-only process (`send` False) never sends nor reads a profile: no SDK at all."""
        if self._out is not None or not send:
            return
        module = await asyncio.to_thread(importlib.import_module, MESSAGING)
        self._out = module.LineMessaging(
            api_url=self._api_url, access_token=self._access_token, timeout=self._timeout
        )

    async def stop(self) -> None:
        out, self._out = self._out, None
        if out is not None:
            await out.close()

    # -- inbound ------------------------------------------------------------------------

    def authentic(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the body is signed with our channel secret: base64 of its HMAC-SHA256,
        as LINE documents it and the SDK's SignatureValidator computes it (done here so
        that taking a webhook needs no SDK import)."""
        signature = _header(headers, "x-line-signature")
        if not signature:
            return False
        expected = base64.b64encode(hmac.digest(self._secret, body, hashlib.sha256))
        return hmac.compare_digest(signature.encode(), expected)

    async def handle_webhook(
        self, headers: Mapping[str, str], body: bytes, *, verified: bool = False
    ) -> tuple[int, str]:
        """Verify the signature (unless `authentic` just did), then commit every event, as
        LINE sent it, to the inbox (translated and handled later, by a worker)."""
        if not verified and not _header(headers, "x-line-signature"):
            log.warning("LINE webhook without X-Line-Signature refused")
            return 400, "missing signature"
        if not verified and not self.authentic(headers, body):
            log.warning("LINE webhook with a bad signature refused")
            return 400, "invalid signature"
        try:
            # A shared location's address and coordinates are not stored.
            payload = parse_body(body, without_personal_fields=True)
        except NotAnUpdate:
            return 400, "malformed JSON, or nested too deep"
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return 400, "no events"
        entries = [entry for entry in map(inbox_entry, events) if entry is not None]
        if not entries:
            return 200, "ok"  # e.g. the console's "Verify" button: no events
        try:
            await self._sink.accept(entries)
        except Exception as exc:
            log.error("LINE events not received (%s); LINE may redeliver", type(exc).__name__)
            return 500, "not received"
        return 200, "ok"

    async def read(self, body: dict[str, Any]) -> Inbound | None:
        """The neutral event of a stored webhook event, with the sender's profile language."""
        event = translate(body)
        if event is None:
            return None
        return await self._with_locale(event)

    async def _with_locale(self, event: Inbound) -> Inbound:
        languages = self._languages
        if self._out is None:  # not started: no profile to ask
            return event
        if event.kind == Kind.FOLLOW or (
            event.kind in PROFILE_KINDS and event.user_id not in languages
        ):
            language = await self._out.fetch_language(event.user_id, languages)
        else:
            language = languages.get(event.user_id) or ""
        return dataclasses.replace(event, locale_hint=language) if language else event

    # -- outbound -----------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> None:
        """Reply when a fresh reply token exists, push the rest (idempotently), in order."""
        await self.messaging().send(delivery)

    def messaging(self) -> LineMessaging:
        if self._out is None:
            raise RuntimeError("LineChannel.start() has not been awaited")
        return self._out


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value or ""
