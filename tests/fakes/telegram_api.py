"""A fake Telegram Bot API server: real HTTP, real answers, state the test can inspect.

    fake = FakeTelegram("123456:TEST")
    with LocalServer(fake.app) as server:
        channel = TelegramChannel(token=fake.token, sink=sink, api_url=f"{server.url}/bot")
        fake.push_update(fake.text_update(42, "hello"))

The server runs in another thread; every method here is thread-safe.
"""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.limits import Limiter

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Form fields PTB sends JSON-encoded; the others are plain strings.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "drop_pending_updates",
        "show_alert",
        "disable_notification",
        "protect_content",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
        "message_id",
    }
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
# Methods that post a message to a chat: what Telegram's flood limits count.
_SENDING = frozenset({"sendmessage", "senddocument"})
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_DEFAULT_ERRORS = {
    400: "Bad Request: invalid request",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error answer: `{"ok": false, "error_code": status, "description": ...}`."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.status)


@dataclass
class _Failure:
    method: str
    error: ApiError
    times: int
    chat_id: int | None


@dataclass
class _Delay:
    method: str
    seconds: float
    times: int


class FakeTelegram:
    """The Bot API for one bot token, in memory; `.app` serves it over HTTP."""

    def __init__(
        self, token: str = "123456:TEST-token", *, username: str = "furikaeri_bot"
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_user = {
            "id": int(head) if head.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Furikaeri",
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._lock = threading.RLock()
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._pending: list[dict[str, Any]] = []
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._messages: dict[int, list[dict[str, Any]]] = {}
        self._uploads: dict[int, list[dict[str, Any]]] = {}
        self._callbacks: dict[str, bool] = {}  # id -> answered
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._blocked: set[int] = set()
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None, "allowed_updates": None}
        self.webhook_error: str | None = None  # e.g. "Wrong response from the webhook: 502"
        self.limits: Limiter | None = None  # off unless `enforce_limits`
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )

    # -- the test's side -------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (as Telegram does when a user acts)."""
        with self._lock:
            self._pending.append(copy.deepcopy(update))
        return update

    def pending_update_ids(self) -> list[int]:
        """Update ids Telegram still holds: not yet confirmed by a higher getUpdates offset."""
        with self._lock:
            return [u["update_id"] for u in self._pending]

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every request to `method` (failed ones too), oldest first."""
        with self._lock:
            return [copy.deepcopy(p) for m, p in self._calls if m.lower() == method.lower()]

    def sent_messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Messages the bot sent to a chat, as they look now (after any edits)."""
        with self._lock:
            return copy.deepcopy(self._messages.get(int(chat_id), []))

    def sent_documents(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Files uploaded to a chat: filename, mime_type, content (bytes), caption."""
        with self._lock:
            return copy.deepcopy(self._uploads.get(int(chat_id), []))

    def commands(
        self, *, language_code: str | None = None, chat_id: int | str | None = None
    ) -> list[tuple[str, str]] | None:
        """The command menu set for a scope and language, or None if none was set."""
        scope = {"type": "chat", "chat_id": int(chat_id)} if chat_id is not None else None
        with self._lock:
            return self._commands.get((_scope_key(scope), language_code or ""))

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) fail like Telegram."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else _DEFAULT_ERRORS.get(status, "Error")
            )
        error = ApiError(status, description, retry_after)
        target = int(chat_id) if chat_id is not None else None
        with self._lock:
            self._failures.append(_Failure(method.lower(), error, times, target))

    def enforce_limits(
        self,
        *,
        per_bot: float | None = 30.0,
        bot_burst: float = 5,
        per_chat: float | None = 1.0,
        chat_burst: float = 3,
    ) -> Limiter:
        """Answer sends over Telegram's flood limits with 429 and `retry_after`, as Telegram
        does: about 30 messages a second for the bot, about one a second in a chat (each
        with a small burst). Returns the limiter, which counts what it refused."""
        self.limits = Limiter(
            per_bot=per_bot, bot_burst=bot_burst, per_chat=per_chat, chat_burst=chat_burst
        )
        return self.limits

    @property
    def throttled(self) -> int:
        """Sends refused with 429 by the enforced limits (0 when none are enforced)."""
        return self.limits.refused if self.limits is not None else 0

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Make the next `times` calls of `method` answer only after `seconds`."""
        with self._lock:
            self._delays.append(_Delay(method.lower(), seconds, times))

    def block(self, user_id: int | str) -> None:
        """The user blocks the bot: every send to them gets 403 until `unblock`."""
        with self._lock:
            self._blocked.add(int(user_id))

    def unblock(self, user_id: int | str) -> None:
        with self._lock:
            self._blocked.discard(int(user_id))

    def webhook_request(self, update: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """The headers and body Telegram would POST to the registered webhook."""
        headers = {"Content-Type": "application/json"}
        with self._lock:
            secret = self.webhook.get("secret_token")
        if secret:
            headers[SECRET_HEADER] = secret
        return headers, json.dumps(update, ensure_ascii=False).encode()

    # -- update builders (they return the update; push it or POST it yourself) --------------

    def user(self, user_id: int, *, language_code: str | None = "en") -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code:
            user["language_code"] = language_code
        return user

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": chat_type, "title": f"A {chat_type}"}

    def text_update(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A user sends text (a "/command" gets its bot_command entity, as on Telegram)."""
        message = self._user_message(user_id, language_code, chat_type, chat_id)
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0].encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update("message", message, update_id)

    def edited_update(
        self,
        user_id: int,
        message_id: int,
        text: str,
        *,
        language_code: str | None = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A user edits an earlier text message."""
        message = self._user_message(user_id, language_code, chat_type, chat_id)
        message.update(message_id=message_id, text=text, edit_date=int(time.time()))
        return self._update("edited_message", message, update_id)

    def media_update(
        self,
        user_id: int,
        kind: str,
        *,
        language_code: str | None = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A user sends a sticker, photo, voice, ... (`kind` is the Message field name)."""
        message = self._user_message(user_id, language_code, chat_type, chat_id)
        message.update(_media(kind))
        return self._update("message", message, update_id)

    def channel_post_update(
        self, chat_id: int, text: str, *, update_id: int | None = None
    ) -> dict[str, Any]:
        """A post in a channel the bot belongs to (no sender user)."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, "channel"),
            "sender_chat": self.chat(chat_id, "channel"),
            "text": text,
        }
        return self._update("channel_post", message, update_id)

    def callback_update(
        self,
        user_id: int,
        data: str,
        message_id: int | None = None,
        *,
        buttons: list[tuple[str, str]] | None = None,
        text: str = "Question?",
        language_code: str | None = "en",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A user presses a button under a bot message.

        The message is the one the bot sent with `message_id` if the fake knows it; otherwise
        a bot message with `text` and `buttons` (one per row) is created, as if sent earlier.
        """
        with self._lock:
            known = next(
                (m for m in self._messages.get(user_id, []) if m["message_id"] == message_id),
                None,
            )
            if known is None:
                markup = {
                    "inline_keyboard": [[{"text": t, "callback_data": d}] for t, d in buttons or []]
                }
                known = self._store_message(
                    user_id, {"text": text, "reply_markup": markup}, message_id=message_id
                )
            query_id = str(next(self._callback_ids))
            self._callbacks[query_id] = False
            message = copy.deepcopy(known)
        query = {
            "id": query_id,
            "from": self.user(user_id, language_code=language_code),
            "chat_instance": f"ci{user_id}",
            "message": message,
            "data": data,
        }
        return self._update("callback_query", query, update_id)

    def member_update(
        self,
        user_id: int,
        old: str,
        new: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The bot's membership changes: private "member" -> "kicked" is a block, and back."""
        change = {
            "chat": self.chat(chat_id if chat_id is not None else user_id, chat_type),
            "from": self.user(user_id),
            "date": int(time.time()),
            "old_chat_member": _member(self.bot_user, old),
            "new_chat_member": _member(self.bot_user, new),
        }
        return self._update("my_chat_member", change, update_id)

    # -- the server's side -----------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        method = request.path_params["method"]
        try:
            params = await _read_params(request)
        except ValueError:
            return ApiError(400, "Bad Request: can't parse request").response()
        with self._lock:
            self._calls.append((method, copy.deepcopy(params)))
            delay = self._take_delay(method)
            failure = self._take_failure(method, params)
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            return failure.response()
        if self.limits is not None and method.lower() in _SENDING:
            wait = self.limits.admit(str(params.get("chat_id")))
            if wait is not None:
                return ApiError(429, f"Too Many Requests: retry after {wait}", wait).response()
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return ApiError(404, "Not Found").response()
        try:
            result = await handler(params)
        except ApiError as error:
            return error.response()
        return JSONResponse({"ok": True, "result": result})

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method == method.lower():
                delay.times -= 1
                if delay.times <= 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def _take_failure(self, method: str, params: dict[str, Any]) -> ApiError | None:
        for failure in self._failures:
            if failure.method != method.lower():
                continue
            if (
                failure.chat_id is not None
                and _int_or_none(params.get("chat_id")) != failure.chat_id
            ):
                continue
            failure.times -= 1
            if failure.times <= 0:
                self._failures.remove(failure)
            return failure.error
        return None

    async def _api_getme(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _api_getupdates(self, params: dict[str, Any]) -> Any:
        offset = _int_or_none(params.get("offset"))
        limit = _int_or_none(params.get("limit")) or 100
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self.webhook["url"]:
                    raise ApiError(
                        409,
                        "Conflict: can't use getUpdates method while webhook is active; "
                        "use deleteWebhook to delete the webhook first",
                    )
                if offset is not None and offset < 0:
                    self._pending = self._pending[offset:]
                elif offset is not None:
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]
                if self._pending or time.monotonic() >= deadline:
                    return copy.deepcopy(self._pending[:limit])
            await asyncio.sleep(0.01)

    async def _api_setwebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = {
                "url": params.get("url") or "",
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
            }
        return True

    async def _api_deletewebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = {"url": "", "secret_token": None, "allowed_updates": None}
            if params.get("drop_pending_updates"):
                self._pending.clear()
        return True

    async def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        with self._lock:
            info: dict[str, Any] = {
                "url": self.webhook["url"],
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if self.webhook["allowed_updates"]:
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.webhook_error:  # Telegram's last failure to reach the webhook
                info["last_error_date"] = int(time.time())
                info["last_error_message"] = self.webhook_error
        return info

    async def _api_setmycommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        menu: list[tuple[str, str]] = []
        for item in commands:
            name, description = item.get("command", ""), item.get("description", "")
            valid_name = 1 <= len(name) <= 32 and all(
                c.islower() or c.isdigit() or c == "_" for c in name
            )
            if not valid_name or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            menu.append((name, description))
        with self._lock:
            key = (_scope_key(params.get("scope")), params.get("language_code") or "")
            self._commands[key] = menu
        return True

    async def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id = self._sendable_chat(params)
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        fields: dict[str, Any] = {"text": text}
        fields.update(_checked_markup(params.get("reply_markup")))
        with self._lock:
            return copy.deepcopy(self._store_message(chat_id, fields))

    async def _api_senddocument(self, params: dict[str, Any]) -> Any:
        chat_id = self._sendable_chat(params)
        upload = params.get("document")
        if not isinstance(upload, dict):
            raise ApiError(400, "Bad Request: there is no document in the request")
        caption = params.get("caption") or ""
        if len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        file_id = f"DOC{next(self._message_ids)}"
        fields: dict[str, Any] = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"U{file_id}",
                "file_name": upload["filename"],
                "mime_type": upload["mime_type"],
                "file_size": len(upload["content"]),
            }
        }
        if caption:
            fields["caption"] = caption
        fields.update(_checked_markup(params.get("reply_markup")))
        with self._lock:
            self._uploads.setdefault(chat_id, []).append({**upload, "caption": caption})
            return copy.deepcopy(self._store_message(chat_id, fields))

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        markup = _checked_markup(params.get("reply_markup"))
        with self._lock:
            message = self._find_message(params)
            if message.get("reply_markup") == markup.get("reply_markup"):
                raise ApiError(400, _NOT_MODIFIED)
            message.pop("reply_markup", None)
            message.update(markup)
            return copy.deepcopy(message)

    async def _api_editmessagetext(self, params: dict[str, Any]) -> Any:
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = _checked_markup(params.get("reply_markup"))
        with self._lock:
            message = self._find_message(params)
            if message.get("text") == text and message.get("reply_markup") == markup.get(
                "reply_markup"
            ):
                raise ApiError(400, _NOT_MODIFIED)
            message.pop("reply_markup", None)
            message.update(text=text, edit_date=int(time.time()), **markup)
            return copy.deepcopy(message)

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if self._callbacks.get(query_id, True):
                raise ApiError(400, _QUERY_TOO_OLD)
            self._callbacks[query_id] = True
        return True

    # -- helpers (call with the lock held where they touch state) ---------------------------

    def _update(self, field: str, payload: dict[str, Any], update_id: int | None) -> dict[str, Any]:
        with self._lock:
            number = update_id if update_id is not None else next(self._update_ids)
        return {"update_id": number, field: payload}

    def _user_message(
        self, user_id: int, language_code: str | None, chat_type: str, chat_id: int | None
    ) -> dict[str, Any]:
        if chat_id is None:
            chat_id = user_id if chat_type == "private" else -1_000_000_000_000 - user_id
        with self._lock:
            message_id = next(self._message_ids)
        return {
            "message_id": message_id,
            "from": self.user(user_id, language_code=language_code),
            "chat": self.chat(chat_id, chat_type),
            "date": int(time.time()),
        }

    def _store_message(
        self, chat_id: int, fields: dict[str, Any], *, message_id: int | None = None
    ) -> dict[str, Any]:
        message = {
            "message_id": message_id if message_id is not None else next(self._message_ids),
            "from": self.bot_user,
            "chat": self.chat(chat_id, "private" if chat_id > 0 else "group"),
            "date": int(time.time()),
            **copy.deepcopy(fields),
        }
        self._messages.setdefault(chat_id, []).append(message)
        return message

    def _find_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _int_or_none(params.get("chat_id"))
        message_id = _int_or_none(params.get("message_id"))
        for message in self._messages.get(chat_id or 0, []):
            if message["message_id"] == message_id:
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    def _sendable_chat(self, params: dict[str, Any]) -> int:
        chat_id = _int_or_none(params.get("chat_id"))
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        with self._lock:
            if chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id


async def _read_params(request: Request) -> dict[str, Any]:
    """Read Bot API parameters from the query, a JSON body, a form, or multipart."""
    params: dict[str, Any] = {k: _decode_field(k, v) for k, v in request.query_params.items()}
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if not body:
        return params
    if content_type.startswith("application/json"):
        raw = json.loads(body)
        if not isinstance(raw, dict):
            raise ValueError("JSON body is not an object")
        params.update(raw)
    elif content_type.startswith("multipart/form-data"):
        params.update(_read_multipart(content_type, body))
    else:
        text = body.decode("utf-8")
        params.update({k: _decode_field(k, v) for k, v in parse_qsl(text, keep_blank_values=True)})
    return params


def _read_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {
                "filename": filename,
                "mime_type": part.get_content_type(),
                "content": content,
            }
        else:
            params[name] = _decode_field(name, content.decode("utf-8"))
    return params


def _decode_field(name: str, value: str) -> Any:
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _checked_markup(markup: Any) -> dict[str, Any]:
    """Validate an inline keyboard like Telegram; return the Message fields it produces."""
    if not markup:
        return {}
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return {}  # reply keyboards are not echoed back in Message objects
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return {"reply_markup": {"inline_keyboard": rows}}


def _media(kind: str) -> dict[str, Any]:
    file = {"file_id": f"F-{kind}", "file_unique_id": f"U-{kind}"}
    location = {"latitude": 35.0116, "longitude": 135.7681}
    payloads: dict[str, dict[str, Any]] = {
        "sticker": {
            "sticker": {
                **file,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
        "photo": {"photo": [{**file, "width": 90, "height": 90}]},
        "voice": {"voice": {**file, "duration": 3}},
        "audio": {"audio": {**file, "duration": 30}},
        "video": {"video": {**file, "width": 640, "height": 360, "duration": 5}},
        "video_note": {"video_note": {**file, "length": 240, "duration": 5}},
        "animation": {
            "animation": {**file, "width": 320, "height": 240, "duration": 2},
            "document": {**file, "file_name": "a.gif.mp4"},
        },
        "document": {"document": {**file, "file_name": "notes.pdf"}},
        "location": {"location": location},
        "venue": {
            "location": location,
            "venue": {"location": location, "title": "Career center", "address": "Kyoto"},
        },
        "contact": {"contact": {"phone_number": "+81000000000", "first_name": "Friend"}},
        "poll": {
            "poll": {
                "id": "P1",
                "question": "Which?",
                "options": [
                    {"persistent_id": "o1", "text": "A", "voter_count": 0},
                    {"persistent_id": "o2", "text": "B", "voter_count": 0},
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
        },
        "dice": {"dice": {"emoji": "🎲", "value": 4}},
    }
    if kind not in payloads:
        raise ValueError(f"unknown media kind {kind!r}; known: {sorted(payloads)}")
    return payloads[kind]


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": user, "status": status}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _scope_key(scope: Any) -> str:
    if not scope or scope == {"type": "default"}:
        return "default"
    return json.dumps(scope, sort_keys=True)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)
