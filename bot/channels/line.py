"""The LINE channel: signed webhooks in, Messaging API calls out. It translates, nothing else."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import aiohttp
import aiohttp.helpers
import yarl
from linebot.v3 import SignatureValidator
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)

from bot.channels.base import Delivery, Limits, Rejected, RetryLater, Unreachable
from bot.channels.line_events import PROFILE_KINDS, inbox_entry, translate
from bot.channels.line_render import batches, render, retry_key
from bot.channels.webhook_json import NotAnUpdate, parse_body
from bot.engine.events import Inbound, Kind
from bot.engine.ports import EventSink

log = logging.getLogger(__name__)

INVALID_REPLY_TOKEN = "Invalid reply token"
PROFILE_TIMEOUT = 3.0  # seconds; the student's answer is waiting
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)
CONNECTIONS = 64  # parallel requests to the Messaging API (the SDK's default: 5 per CPU)


class _Lru:
    """A bounded mapping that forgets the least recently used keys (an optimization only)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: str, value: str = "") -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._items


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
        self._validator = SignatureValidator(channel_secret)
        self._access_token = access_token
        self._sink = sink
        self._api_url = api_url.rstrip("/")
        self._timeout = request_timeout
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._languages = _Lru(10_000)  # user id -> profile language ("" when unknown)
        self._replied = _Lru(10_000)  # idempotency keys whose first batch went as a reply

    async def start(self, *, receive: bool = True) -> None:
        """Open the HTTP client (inside the running event loop). LINE posts its webhooks
        to the URL set in its console: nothing to register, whatever `receive` says."""
        if self._client is not None:
            return
        # The proxy settings are read from the environment once, here: the SDK's own
        # session would read them again on every call (aiohttp's trust_env).
        config = Configuration(host=self._api_url, access_token=self._access_token)
        config.proxy, config.proxy_headers = _env_proxy(self._api_url)
        config.connection_pool_maxsize = CONNECTIONS
        self._client = AsyncApiClient(config)
        _without_env_reads(self._client)
        self._api = AsyncMessagingApi(self._client)

    async def stop(self) -> None:
        client, self._client, self._api = self._client, None, None
        if client is not None:
            await client.close()

    # -- inbound ------------------------------------------------------------------------

    def authentic(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the body is signed with our channel secret (HMAC-SHA256)."""
        signature = _header(headers, "x-line-signature")
        if not signature:
            return False
        try:
            return bool(self._validator.validate(body.decode("utf-8"), signature))
        except UnicodeDecodeError:
            return False

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
        if event.kind == Kind.FOLLOW or (
            event.kind in PROFILE_KINDS and event.user_id not in self._languages
        ):
            language = await self._fetch_language(event.user_id)
        else:
            language = self._languages.get(event.user_id) or ""
        return dataclasses.replace(event, locale_hint=language) if language else event

    async def _fetch_language(self, user_id: str) -> str:
        """The profile language, or "" (never raises: the event matters more)."""
        if self._api is None:
            return ""
        try:
            profile = await self._api.get_profile(
                user_id, _request_timeout=min(self._timeout, PROFILE_TIMEOUT)
            )
        except ApiException as exc:
            log.info("LINE profile unavailable (%s)", exc.status)
            if exc.status == 404:  # not a friend, or no consent: do not ask every time
                self._languages.put(user_id, "")
            return self._languages.get(user_id) or ""
        except Exception as exc:
            log.warning("LINE profile call failed (%s)", type(exc).__name__)
            return self._languages.get(user_id) or ""
        language = profile.language or ""
        self._languages.put(user_id, language)
        return str(language)

    # -- outbound -----------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> None:
        """Reply when a fresh reply token exists, push the rest (idempotently), in order."""
        api = self._require_api()
        groups = batches(render(delivery.messages))
        key = delivery.idempotency_key
        replied = key in self._replied  # by an earlier attempt of this delivery
        if groups and delivery.reply_token and not replied:
            replied = await self._reply(api, delivery.reply_token, groups[0])
            if replied:
                self._replied.put(key)
        first = 1 if replied else 0
        for index in range(first, len(groups)):
            await self._push(api, delivery.chat_id, groups[index], retry_key(key, index))
        if delivery.chat_id[:1] in ("C", "R"):
            await self._leave(api, delivery.chat_id)

    def _require_api(self) -> AsyncMessagingApi:
        if self._api is None:
            raise RuntimeError("LineChannel.start() has not been awaited")
        return self._api

    async def _reply(self, api: AsyncMessagingApi, token: str, batch: list[TextMessage]) -> bool:
        """Send one batch as a free reply; False when the token is used up or expired."""
        request = ReplyMessageRequest(reply_token=token, messages=batch)
        try:
            await api.reply_message_with_http_info(request, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == 400 and _error_message(exc) == INVALID_REPLY_TOKEN:
                log.info("LINE reply token no longer valid; pushing instead")
                return False
            raise _verdict("reply", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise RetryLater(f"LINE reply: {type(exc).__name__}") from exc
        return True

    async def _push(
        self, api: AsyncMessagingApi, chat_id: str, batch: list[TextMessage], key: str
    ) -> None:
        request = PushMessageRequest(to=chat_id, messages=batch)
        try:
            await api.push_message_with_http_info(
                request, x_line_retry_key=key, _request_timeout=self._timeout
            )
        except ApiException as exc:
            if exc.status == 409:  # this retry key was accepted before: already sent
                log.info("LINE push already accepted (retry key %s)", key)
                return
            raise _verdict("push", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise RetryLater(f"LINE push: {type(exc).__name__}") from exc

    async def _leave(self, api: AsyncMessagingApi, chat_id: str) -> None:
        """Leave a group or room: the bot works only in 1:1 chats. Best effort."""
        try:
            if chat_id.startswith("C"):
                await api.leave_group(chat_id, _request_timeout=self._timeout)
            else:
                await api.leave_room(chat_id, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status != 404:  # 404: not (or no longer) a member
                log.warning("could not leave a LINE group or room (%s)", exc.status)
        except TRANSPORT_ERRORS as exc:
            log.warning("could not leave a LINE group or room (%s)", type(exc).__name__)


def _env_proxy(url: str) -> tuple[str | None, dict[str, str] | None]:
    """The HTTPS proxy the environment names for this URL (HTTPS_PROXY, NO_PROXY), if any."""
    try:
        proxy, auth = aiohttp.helpers.get_env_proxy_for_url(yarl.URL(url))
    except LookupError:
        return None, None
    headers = {"Proxy-Authorization": auth.encode()} if auth is not None else None
    return str(proxy), headers


def _without_env_reads(client: AsyncApiClient) -> None:
    """Swap the SDK's aiohttp session (trust_env=True, not configurable) for one that does
    not look at the environment on each request, keeping the SDK's connector (pool, TLS)."""
    rest = client.rest_client
    connector = rest.pool_manager.connector
    rest.pool_manager.detach()  # the old session lets go of the connector, unclosed
    rest.pool_manager = aiohttp.ClientSession(connector=connector, trust_env=False)


def _verdict(action: str, exc: ApiException) -> Exception:
    """The channel error for a Messaging API error answer."""
    status = int(exc.status or 0)
    reason = f"LINE {action}: {status} {_error_message(exc)}".rstrip()
    if status == 429:
        return RetryLater(reason, after=_retry_after(exc), throttled="channel")
    if status >= 500 or status in (0, 408):
        return RetryLater(reason)
    if status == 401:  # a bad or expired access token: fix the config, keep the messages
        log.error("LINE refused the channel access token")
        return RetryLater(reason, after=60.0)
    if status == 404:
        return Unreachable(reason)
    # 403 means the channel may not use this API (plan or permission), not a blocked user:
    # LINE answers 200 to a push to a user who blocked the bot and sends an unfollow event.
    return Rejected(reason)


def _error_message(exc: ApiException) -> str:
    body: Any = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return ""
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return message[:200] if isinstance(message, str) else ""


def _retry_after(exc: ApiException) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: let the dispatcher choose


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value or ""
