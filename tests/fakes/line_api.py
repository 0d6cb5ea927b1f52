"""A fake LINE Messaging API server, and a builder and signer for LINE webhooks.

The real line-bot-sdk talks to it over HTTP:

    fake = LineApiFake(access_token="token")
    with LocalServer(fake.app) as server:
        channel = LineChannel(..., access_token="token", api_url=server.url)

It enforces the limits LINE enforces (1-5 messages per request, 5000 UTF-16 code units
per text, 13 quick-reply items, 20-character labels, 300-character postback data),
answers in LINE's error format ({"message": ..., "details": [...]}), issues single-use
reply tokens that expire, and honours X-Line-Retry-Key (a key already accepted -> 409).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.limits import Limiter

ENDPOINTS = (
    "reply",
    "push",
    "multicast",
    "profile",
    "leave_group",
    "leave_room",
    "info",
    "webhook_endpoint",
)
MAX_MESSAGES = 5
MAX_TEXT = 5000  # UTF-16 code units
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL = 20  # LINE counts grapheme clusters; this fake counts code points
MAX_POSTBACK_DATA = 300
MAX_DISPLAY_TEXT = 300


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, whatever it answered."""

    endpoint: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    status: int
    request_id: str

    @property
    def retry_key(self) -> str | None:
        return self.headers.get("x-line-retry-key")


@dataclass(frozen=True)
class SentMessage:
    """One message object LINE accepted, and the chat it went to."""

    chat_id: str
    via: str  # "reply", "push" or "multicast"
    message: dict[str, Any]
    request_id: str

    @property
    def type(self) -> str:
        return str(self.message.get("type", ""))

    @property
    def text(self) -> str:
        return str(self.message.get("text", ""))

    @property
    def quick_reply_items(self) -> list[dict[str, Any]]:
        return list((self.message.get("quickReply") or {}).get("items") or [])

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, data) of each postback quick-reply item."""
        return [
            (item["action"].get("label", ""), item["action"].get("data", ""))
            for item in self.quick_reply_items
            if item.get("action", {}).get("type") == "postback"
        ]


@dataclass
class _ReplyToken:
    chat_id: str
    expires_at: float
    used: bool = False


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    message: str


@dataclass
class _State:
    reply_tokens: dict[str, _ReplyToken] = field(default_factory=dict)
    accepted_keys: dict[str, str] = field(default_factory=dict)  # retry key -> request id
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    left: list[str] = field(default_factory=list)
    failures: dict[str, deque[_Failure]] = field(default_factory=dict)
    delays: dict[str, deque[float]] = field(default_factory=dict)
    bot_info: dict[str, str] = field(
        default_factory=lambda: {
            "userId": "U" + "0" * 32,
            "basicId": "@123abcde",
            "displayName": "furikaeri",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
    )
    webhook: dict[str, Any] = field(default_factory=lambda: {"endpoint": "", "active": False})


def _error(status: int, message: str, details: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


class LineApiFake:
    """The Messaging API endpoints furikaeri uses, with thread-safe state for assertions."""

    def __init__(self, *, access_token: str = "test-access-token") -> None:
        self.access_token = access_token
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(1)
        self.push_limits: Limiter | None = None  # off unless `enforce_push_limit`
        # Called (chat id, "reply" or "push") for every accepted delivery, from the server's
        # thread: a benchmark's way to see an answer arrive without polling.
        self.on_delivery: Callable[[str, str], None] | None = None
        self.app = Starlette(
            routes=[
                Route("/v2/bot/message/reply", self._reply, methods=["POST"]),
                Route("/v2/bot/message/push", self._push, methods=["POST"]),
                Route("/v2/bot/message/multicast", self._multicast, methods=["POST"]),
                Route("/v2/bot/profile/{user_id}", self._profile, methods=["GET"]),
                Route("/v2/bot/group/{chat_id}/leave", self._leave_group, methods=["POST"]),
                Route("/v2/bot/room/{chat_id}/leave", self._leave_room, methods=["POST"]),
                Route("/v2/bot/info", self._info, methods=["GET"]),
                Route("/v2/bot/channel/webhook/endpoint", self._webhook_endpoint, methods=["GET"]),
            ]
        )

    # -- set-up -------------------------------------------------------------------------

    def issue_reply_token(self, chat_id: str, ttl: float = 60.0) -> str:
        """A reply token for `chat_id`, valid once, for `ttl` seconds."""
        token = uuid.uuid4().hex
        with self._lock:
            self._state.reply_tokens[token] = _ReplyToken(chat_id, time.monotonic() + ttl)
        return token

    def enforce_push_limit(self, per_second: float, *, burst: float = 5) -> Limiter:
        """Answer pushes over `per_second` with 429, as LINE does when a channel exceeds
        its rate limit (no Retry-After). Replies are free and never limited."""
        self.push_limits = Limiter(per_bot=per_second, bot_burst=burst, per_chat=None, chat_burst=0)
        return self.push_limits

    def set_profile(self, user_id: str, display_name: str, language: str | None = None) -> None:
        profile = {"userId": user_id, "displayName": display_name}
        if language is not None:
            profile["language"] = language
        with self._lock:
            self._state.profiles[user_id] = profile

    def set_webhook(self, endpoint: str, *, active: bool = True) -> None:
        """The webhook URL set in the LINE Developers console, and "Use webhook"."""
        with self._lock:
            self._state.webhook = {"endpoint": endpoint, "active": active}

    def block(self, user_id: str) -> None:
        """The user blocks the bot: pushes still answer 200 but deliver nothing (as LINE)."""
        with self._lock:
            self._state.blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        with self._lock:
            self._state.blocked.discard(user_id)

    def fail_next(
        self,
        endpoint: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        message: str = "",
    ) -> None:
        """Answer the next `times` requests to `endpoint` with `status` (nothing is accepted)."""
        failure = _Failure(status, retry_after, message or _default_message(status))
        with self._lock:
            queue = self._state.failures.setdefault(_check_endpoint(endpoint), deque())
            queue.extend([failure] * times)

    def delay_next(self, endpoint: str, seconds: float) -> None:
        """Hold the next request to `endpoint` for `seconds` before handling it normally."""
        with self._lock:
            self._state.delays.setdefault(_check_endpoint(endpoint), deque()).append(seconds)

    # -- assertions ---------------------------------------------------------------------

    def pushed(self, chat_id: str) -> list[SentMessage]:
        return [m for m in self.all_messages(chat_id) if m.via == "push"]

    def replied(self, chat_id: str) -> list[SentMessage]:
        return [m for m in self.all_messages(chat_id) if m.via == "reply"]

    def all_messages(self, chat_id: str) -> list[SentMessage]:
        """Every message delivered to `chat_id`, in the order LINE accepted them."""
        with self._lock:
            return [m for m in self._state.messages if m.chat_id == chat_id]

    def requests(self, endpoint: str) -> list[RecordedRequest]:
        """Every request to `endpoint` ("reply", "push", ...), including refused ones."""
        name = _check_endpoint(endpoint)
        with self._lock:
            return [r for r in self._state.requests if r.endpoint == name]

    def left(self) -> list[str]:
        """Group and room ids the bot left, in order."""
        with self._lock:
            return list(self._state.left)

    # -- endpoints ----------------------------------------------------------------------

    async def _reply(self, request: Request) -> JSONResponse:
        return await self._handle("reply", request, self._accept_reply)

    async def _push(self, request: Request) -> JSONResponse:
        return await self._handle("push", request, self._accept_push)

    async def _multicast(self, request: Request) -> JSONResponse:
        return await self._handle("multicast", request, self._accept_multicast)

    async def _profile(self, request: Request) -> JSONResponse:
        return await self._handle("profile", request, self._accept_profile)

    async def _leave_group(self, request: Request) -> JSONResponse:
        return await self._handle("leave_group", request, self._accept_leave)

    async def _leave_room(self, request: Request) -> JSONResponse:
        return await self._handle("leave_room", request, self._accept_leave)

    async def _info(self, request: Request) -> JSONResponse:
        return await self._handle("info", request, self._accept_info)

    async def _webhook_endpoint(self, request: Request) -> JSONResponse:
        return await self._handle("webhook_endpoint", request, self._accept_webhook_endpoint)

    async def _handle(self, endpoint: str, request: Request, accept: Any) -> JSONResponse:
        raw = await request.body()
        with self._lock:
            delays = self._state.delays.get(endpoint)
            delay = delays.popleft() if delays else 0.0
        if delay:  # received, but slow to answer: the client may give up meanwhile
            await asyncio.sleep(delay)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        request_id = str(uuid.UUID(int=next(self._ids)))
        with self._lock:
            response = self._respond(endpoint, request, headers, body, request_id, accept)
            self._state.requests.append(
                RecordedRequest(
                    endpoint=endpoint,
                    path=request.url.path,
                    headers=headers,
                    body=body,
                    status=response.status_code,
                    request_id=request_id,
                )
            )
        response.headers["x-line-request-id"] = request_id
        return response

    def _respond(
        self,
        endpoint: str,
        request: Request,
        headers: dict[str, str],
        body: Any,
        request_id: str,
        accept: Any,
    ) -> JSONResponse:
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return _error(401, "Authentication failed due to the following reason: invalid token.")
        failures = self._state.failures.get(endpoint)
        if failures:
            failure = failures.popleft()
            response = _error(failure.status, failure.message)
            if failure.retry_after is not None:
                response.headers["retry-after"] = _format_seconds(failure.retry_after)
            return response
        if request.method == "POST" and endpoint not in ("leave_group", "leave_room"):
            if not isinstance(body, dict):
                return _error(400, "The request body could not be parsed as JSON")
            if invalid := _check_messages(body.get("messages")):
                return invalid
        retry_key = headers.get("x-line-retry-key")
        if retry_key is not None:
            if endpoint not in ("push", "multicast"):
                return _error(400, "The X-Line-Retry-Key header is not supported for this API")
            try:
                uuid.UUID(retry_key)
            except ValueError:
                return _error(400, "The value for the 'X-Line-Retry-Key' header is invalid")
            if accepted := self._state.accepted_keys.get(retry_key):
                response = _error(409, "The retry key is already accepted")
                response.headers["x-line-accepted-request-id"] = accepted
                return response
        response = accept(request, body, request_id)
        if retry_key is not None and 200 <= response.status_code < 300:
            self._state.accepted_keys[retry_key] = request_id
        return response

    def _deliver(
        self, chat_id: str, via: str, messages: list[Any], request_id: str
    ) -> JSONResponse:
        sent = []
        for message in messages:
            message_id = str(next(self._ids))
            if chat_id not in self._state.blocked:
                self._state.messages.append(SentMessage(chat_id, via, message, request_id))
            sent.append({"id": message_id, "quoteToken": uuid.uuid4().hex})
        if self.on_delivery is not None:
            self.on_delivery(chat_id, via)
        return JSONResponse({"sentMessages": sent})

    def _accept_reply(self, request: Request, body: Any, request_id: str) -> JSONResponse:
        token = self._state.reply_tokens.get(str(body.get("replyToken", "")))
        if token is None or token.used or token.expires_at < time.monotonic():
            return _error(400, "Invalid reply token")
        token.used = True
        return self._deliver(token.chat_id, "reply", body["messages"], request_id)

    def _accept_push(self, request: Request, body: Any, request_id: str) -> JSONResponse:
        to = body.get("to")
        if not isinstance(to, str) or not to:
            return _error(
                400,
                "The request body has 1 error(s)",
                [{"message": "must be specified", "property": "to"}],
            )
        if self.push_limits is not None and self.push_limits.admit(to) is not None:
            return _error(429, "The API rate limit has been exceeded. Try again later.")
        return self._deliver(to, "push", body["messages"], request_id)

    def _accept_multicast(self, request: Request, body: Any, request_id: str) -> JSONResponse:
        to = body.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= 500:
            return _error(
                400,
                "The request body has 1 error(s)",
                [{"message": "Size must be between 1 and 500", "property": "to"}],
            )
        for user_id in to:
            self._deliver(str(user_id), "multicast", body["messages"], request_id)
        return JSONResponse({})

    def _accept_profile(self, request: Request, body: Any, request_id: str) -> JSONResponse:
        user_id = request.path_params["user_id"]
        profile = self._state.profiles.get(user_id)
        if profile is None or user_id in self._state.blocked:
            return _error(404, "Not found")
        return JSONResponse(profile)

    def _accept_leave(self, request: Request, body: Any, request_id: str) -> JSONResponse:
        self._state.left.append(request.path_params["chat_id"])
        return JSONResponse({})

    def _accept_info(self, request: Request, body: Any, request_id: str) -> JSONResponse:
        return JSONResponse(dict(self._state.bot_info))

    def _accept_webhook_endpoint(
        self, request: Request, body: Any, request_id: str
    ) -> JSONResponse:
        return JSONResponse(dict(self._state.webhook))


def _check_endpoint(endpoint: str) -> str:
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
    return endpoint


def _default_message(status: int) -> str:
    return {
        400: "The request body has 1 error(s)",
        403: "The request is not authorized",
        404: "Not found",
        429: "The API rate limit has been exceeded. Try again later.",
    }.get(status, "Internal server error")


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _check_messages(messages: Any) -> JSONResponse | None:
    """LINE's validation of a messages array: None when it is acceptable."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        size = {"message": "Size must be between 1 and 5", "property": "messages"}
        return _error(400, "The request body has 1 error(s)", [size])
    details: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        details.extend(_check_message(f"messages[{i}]", message))
    if details:
        return _error(400, f"The request body has {len(details)} error(s)", details)
    return None


def _check_message(where: str, message: Any) -> Iterable[dict[str, str]]:
    if not isinstance(message, dict) or not message.get("type"):
        yield {"message": "must be specified", "property": f"{where}.type"}
        return
    if message["type"] == "text":
        text = message.get("text")
        if not isinstance(text, str) or not text:
            yield {"message": "must be specified", "property": f"{where}.text"}
        elif utf16_len(text) > MAX_TEXT:
            yield {"message": "Length must be between 0 and 5000", "property": f"{where}.text"}
    items = (message.get("quickReply") or {}).get("items")
    if items is None:
        return
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
        yield {"message": "Size must be between 1 and 13", "property": f"{where}.quickReply.items"}
        return
    for j, item in enumerate(items):
        action = item.get("action") if isinstance(item, dict) else None
        path = f"{where}.quickReply.items[{j}].action"
        if not isinstance(action, dict):
            yield {"message": "must be specified", "property": path}
            continue
        label = action.get("label")
        if not isinstance(label, str) or not label:
            yield {"message": "must be specified", "property": f"{path}.label"}
        elif len(label) > MAX_LABEL:
            yield {"message": "Length must be between 0 and 20", "property": f"{path}.label"}
        if action.get("type") == "postback":
            data = action.get("data")
            if not isinstance(data, str) or len(data) > MAX_POSTBACK_DATA:
                yield {"message": "Length must be between 0 and 300", "property": f"{path}.data"}
            if len(action.get("displayText") or "") > MAX_DISPLAY_TEXT:
                yield {
                    "message": "Length must be between 0 and 300",
                    "property": f"{path}.displayText",
                }


# -- webhooks ---------------------------------------------------------------------------


def _event(
    event_type: str,
    source: dict[str, str],
    *,
    event_id: str | None,
    reply_token: str | None,
    redelivery: bool,
    timestamp_ms: int | None,
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": event_type,
        "mode": "active",
        "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        "source": source,
        "webhookEventId": event_id or _ulid_like(),
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    event.update(extra)
    return event


def _ulid_like() -> str:
    return "01" + uuid.uuid4().hex[:24].upper()


def _user(user_id: str) -> dict[str, str]:
    return {"type": "user", "userId": user_id}


def _new_token() -> str:
    return uuid.uuid4().hex


def line_event_text(
    user_id: str,
    text: str,
    *,
    event_id: str | None = None,
    reply_token: str | None = None,
    message_id: str | None = None,
    redelivery: bool = False,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A text message event in a 1:1 chat (reply token: a random one unless given)."""
    message = {
        "id": message_id or str(uuid.uuid4().int)[:18],
        "type": "text",
        "text": text,
        "quoteToken": _new_token(),
    }
    return _event(
        "message",
        _user(user_id),
        event_id=event_id,
        reply_token=reply_token or _new_token(),
        redelivery=redelivery,
        timestamp_ms=timestamp_ms,
        message=message,
    )


def line_event_postback(
    user_id: str,
    data: str,
    *,
    event_id: str | None = None,
    reply_token: str | None = None,
    redelivery: bool = False,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A postback (quick-reply button press) event in a 1:1 chat."""
    return _event(
        "postback",
        _user(user_id),
        event_id=event_id,
        reply_token=reply_token or _new_token(),
        redelivery=redelivery,
        timestamp_ms=timestamp_ms,
        postback={"data": data},
    )


def line_event_follow(
    user_id: str,
    *,
    unblocked: bool = False,
    event_id: str | None = None,
    reply_token: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The user added (or, with `unblocked`, unblocked) the bot."""
    return _event(
        "follow",
        _user(user_id),
        event_id=event_id,
        reply_token=reply_token or _new_token(),
        redelivery=False,
        timestamp_ms=timestamp_ms,
        follow={"isUnblocked": unblocked},
    )


def line_event_unfollow(
    user_id: str, *, event_id: str | None = None, timestamp_ms: int | None = None
) -> dict[str, Any]:
    """The user blocked the bot (no reply token)."""
    return _event(
        "unfollow",
        _user(user_id),
        event_id=event_id,
        reply_token=None,
        redelivery=False,
        timestamp_ms=timestamp_ms,
    )


_MEDIA_CONTENT: dict[str, dict[str, Any]] = {
    "image": {"contentProvider": {"type": "line"}},
    "video": {"duration": 6000, "contentProvider": {"type": "line"}},
    "audio": {"duration": 6000, "contentProvider": {"type": "line"}},
    "file": {"fileName": "notes.pdf", "fileSize": 2048},
    "location": {"title": "Campus", "address": "Tokyo", "latitude": 35.0, "longitude": 139.0},
    "sticker": {
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
        "keywords": ["hello"],
    },
}


def line_event_media(
    user_id: str,
    media_type: str,
    *,
    event_id: str | None = None,
    reply_token: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A non-text message event: image, video, audio, file, location or sticker."""
    if media_type not in _MEDIA_CONTENT:
        raise ValueError(f"unknown media type {media_type!r}")
    message = {
        "id": str(uuid.uuid4().int)[:18],
        "type": media_type,
        **_MEDIA_CONTENT[media_type],
    }
    if media_type in ("image", "video", "sticker"):
        message["quoteToken"] = _new_token()
    return _event(
        "message",
        _user(user_id),
        event_id=event_id,
        reply_token=reply_token or _new_token(),
        redelivery=False,
        timestamp_ms=timestamp_ms,
        message=message,
    )


def line_event_unsend(
    user_id: str, message_id: str, *, event_id: str | None = None, timestamp_ms: int | None = None
) -> dict[str, Any]:
    """The user unsent an earlier message."""
    return _event(
        "unsend",
        _user(user_id),
        event_id=event_id,
        reply_token=None,
        redelivery=False,
        timestamp_ms=timestamp_ms,
        unsend={"messageId": message_id},
    )


def line_event_join(
    group_id: str,
    *,
    room: bool = False,
    event_id: str | None = None,
    reply_token: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The bot was added to a group (or, with `room`, a multi-person chat)."""
    source = (
        {"type": "room", "roomId": group_id} if room else {"type": "group", "groupId": group_id}
    )
    return _event(
        "join",
        source,
        event_id=event_id,
        reply_token=reply_token or _new_token(),
        redelivery=False,
        timestamp_ms=timestamp_ms,
    )


def line_event_group_text(
    group_id: str,
    user_id: str,
    text: str,
    *,
    event_id: str | None = None,
    reply_token: str | None = None,
) -> dict[str, Any]:
    """A text message someone wrote in a group the bot is in."""
    event = line_event_text(user_id, text, event_id=event_id, reply_token=reply_token)
    event["source"] = {"type": "group", "groupId": group_id, "userId": user_id}
    return event


def sign(body: bytes, secret: str) -> str:
    """X-Line-Signature: base64 of the HMAC-SHA256 of the raw body with the channel secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_body(
    events: list[dict[str, Any]], secret: str, *, destination: str = "Ubot0000"
) -> tuple[bytes, dict[str, str]]:
    """A webhook request body with these events, and its headers (signature included)."""
    body = json.dumps({"destination": destination, "events": events}, ensure_ascii=False)
    raw = body.encode("utf-8")
    return raw, {"Content-Type": "application/json", "X-Line-Signature": sign(raw, secret)}
