"""The LINE Messaging API, through line-bot-sdk: replies, pushes, profiles, leaving groups.

Imported when the LINE channel starts, not with it: the SDK builds hundreds of pydantic
models at import (about 0.7 s of a start), and webhooks are taken meanwhile."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import aiohttp.helpers
import yarl
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)

from bot.channels.base import Delivery, Rejected, RetryLater, Unreachable
from bot.channels.line_render import batches, render, retry_key
from bot.channels.lru import Lru

log = logging.getLogger(__name__)

INVALID_REPLY_TOKEN = "Invalid reply token"
PROFILE_TIMEOUT = 3.0  # seconds; the student's answer is waiting
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)
CONNECTIONS = 64  # parallel requests to the Messaging API (the SDK's default: 5 per CPU)


class LineMessaging:
    """One channel's Messaging API client (opened inside the running event loop)."""

    def __init__(self, *, api_url: str, access_token: str, timeout: float) -> None:
        self._timeout = timeout
        # The proxy settings are read from the environment once, here: the SDK's own
        # session would read them again on every call (aiohttp's trust_env).
        config = Configuration(host=api_url, access_token=access_token)
        config.proxy, config.proxy_headers = _env_proxy(api_url)
        config.connection_pool_maxsize = CONNECTIONS
        self._client = AsyncApiClient(config)
        _without_env_reads(self._client)
        self.api = AsyncMessagingApi(self._client)
        self._replied = Lru(10_000)  # idempotency keys whose first batch went as a reply

    async def close(self) -> None:
        await self._client.close()

    async def fetch_language(self, user_id: str, languages: Lru) -> str:
        """The profile language, or "" (never raises: the event matters more)."""
        try:
            profile = await self.api.get_profile(
                user_id, _request_timeout=min(self._timeout, PROFILE_TIMEOUT)
            )
        except ApiException as exc:
            log.info("LINE profile unavailable (%s)", exc.status)
            if exc.status == 404:  # not a friend, or no consent: do not ask every time
                languages.put(user_id, "")
            return languages.get(user_id) or ""
        except Exception as exc:
            log.warning("LINE profile call failed (%s)", type(exc).__name__)
            return languages.get(user_id) or ""
        language = profile.language or ""
        languages.put(user_id, language)
        return str(language)

    async def send(self, delivery: Delivery) -> None:
        """Reply when a fresh reply token exists, push the rest (idempotently), in order."""
        groups = batches(render(delivery.messages))
        key = delivery.idempotency_key
        replied = key in self._replied  # by an earlier attempt of this delivery
        if groups and delivery.reply_token and not replied:
            replied = await self._reply(delivery.reply_token, groups[0])
            if replied:
                self._replied.put(key)
        first = 1 if replied else 0
        for index in range(first, len(groups)):
            await self._push(delivery.chat_id, groups[index], retry_key(key, index))
        if delivery.chat_id[:1] in ("C", "R"):
            await self._leave(delivery.chat_id)

    async def _reply(self, token: str, batch: list[TextMessage]) -> bool:
        """Send one batch as a free reply; False when the token is used up or expired."""
        request = ReplyMessageRequest(reply_token=token, messages=batch)
        try:
            await self.api.reply_message_with_http_info(request, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == 400 and _error_message(exc) == INVALID_REPLY_TOKEN:
                log.info("LINE reply token no longer valid; pushing instead")
                return False
            raise _verdict("reply", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise RetryLater(f"LINE reply: {type(exc).__name__}") from exc
        return True

    async def _push(self, chat_id: str, batch: list[TextMessage], key: str) -> None:
        request = PushMessageRequest(to=chat_id, messages=batch)
        try:
            await self.api.push_message_with_http_info(
                request, x_line_retry_key=key, _request_timeout=self._timeout
            )
        except ApiException as exc:
            if exc.status == 409:  # this retry key was accepted before: already sent
                log.info("LINE push already accepted (retry key %s)", key)
                return
            raise _verdict("push", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise RetryLater(f"LINE push: {type(exc).__name__}") from exc

    async def _leave(self, chat_id: str) -> None:
        """Leave a group or room: the bot works only in 1:1 chats. Best effort."""
        try:
            if chat_id.startswith("C"):
                await self.api.leave_group(chat_id, _request_timeout=self._timeout)
            else:
                await self.api.leave_room(chat_id, _request_timeout=self._timeout)
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
