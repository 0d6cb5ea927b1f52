"""The Telegram channel: PTB updates in as neutral events, neutral deliveries out as API calls."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot.channels.base import Delivery, Limits, Rejected, RetryLater
from bot.channels.telegram_errors import RedactToken, verdict
from bot.channels.telegram_polling import Poller, UpdatesRequest
from bot.channels.telegram_send import plan
from bot.channels.telegram_translate import (
    ALLOWED_UPDATES,
    SPENT_CHOICE,
    inbox_entry,
    keeps_keyboard,
    pressed_label,
    to_inbound,
)
from bot.channels.webhook_json import NotAnUpdate, parse_body, without_personal_fields
from bot.engine.events import Inbound, Kind
from bot.engine.ports import EventSink

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STOP_GRACE = 30.0
_REMEMBERED_PROGRESS = 1024


@dataclass(frozen=True)
class CommandMenu:
    """The command list shown in Telegram's menu, for one language and/or one chat."""

    commands: list[tuple[str, str]]
    language_code: str | None = None
    chat_id: str | None = None


class TelegramChannel:
    """Translate between the Telegram Bot API and neutral events and deliveries; decide nothing."""

    name = "telegram"
    limits = Limits(
        messages_per_second=29.0,
        per_chat_interval=1.0,
        chat_burst=3,  # a short exchange ("thanks" and the next question) goes at once
    )

    def __init__(
        self,
        *,
        token: str,
        sink: EventSink,
        api_url: str = "https://api.telegram.org/bot",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: float = 10.0,
        request_timeout: float = 10.0,
        messages_per_second: float | None = None,
    ) -> None:
        if webhook_url and not webhook_secret:
            raise ValueError("a Telegram webhook needs a secret token")
        if messages_per_second is not None:
            self.limits = dataclasses.replace(self.limits, messages_per_second=messages_per_second)
        self._token = token
        self._sink = sink
        self._api_url = api_url
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self._poll_timeout = poll_timeout
        self._request_timeout = request_timeout
        self._bot: Bot | None = None
        self._poller: Poller | None = None
        # Parts of a delivery already sent by this process, so a retry does not repeat them.
        self._progress: OrderedDict[str, int] = OrderedDict()
        self._redact = RedactToken(token, webhook_secret)

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            raise RuntimeError("TelegramChannel.start() has not run")
        return self._bot

    async def start(self, *, receive: bool = True, send: bool = True) -> None:
        """Connect to the Bot API, then (unless only sending: a worker process) either
        register the webhook or start polling. The one Bot client does both, so a process
        that only receives (`send` False) needs it all the same."""
        self._redact.install()
        bot = Bot(
            self._token,
            base_url=self._api_url,
            base_file_url=_file_url(self._api_url),
            request=self._request(pool_size=256),
            get_updates_request=self._request(pool_size=1, kind=UpdatesRequest),
        )
        await bot.initialize()
        self._bot = bot
        if not receive:
            return
        if self._webhook_url:
            await bot.set_webhook(
                self._webhook_url,
                secret_token=self._webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
            logger.info("telegram: webhook registered")
            return
        await bot.delete_webhook()
        self._poller = Poller(bot=bot, handle=self._polled, poll_timeout=self._poll_timeout)
        self._poller.start()
        logger.info("telegram: polling started")

    async def stop_receiving(self) -> None:
        """Stop polling after the update in flight; sending still works until stop()."""
        if self._poller is not None:
            await self._poller.stop(STOP_GRACE)
            self._poller = None

    async def stop(self) -> None:
        """Stop polling after the update in flight, then close the connections."""
        await self.stop_receiving()
        if self._bot is not None:
            await self._bot.shutdown()
            self._bot = None
        self._redact.uninstall()

    def authentic(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the request carries our webhook's secret token (compared in constant time)."""
        given = _header(headers, SECRET_HEADER)
        expected = self._webhook_secret
        return bool(given and expected and hmac.compare_digest(given.encode(), expected.encode()))

    async def handle_webhook(
        self, headers: Mapping[str, str], body: bytes, *, verified: bool = False
    ) -> tuple[int, str]:
        """Check the secret (unless `authentic` just did), commit the update as Telegram
        sent it to the inbox (a worker translates and handles it), and say what to answer."""
        if not verified and not self.authentic(headers, body):
            logger.warning("telegram: webhook call with a missing or wrong secret token")
            return 403, "forbidden"
        try:
            raw = parse_body(body, without_personal_fields=True)
        except NotAnUpdate:
            return 400, "body is not JSON, or is nested too deep"
        if not isinstance(raw, dict):
            return 400, "body is not a JSON object"
        if not isinstance(raw.get("update_id"), int):
            return 400, "body is not an update"
        entry = inbox_entry(raw)
        if entry is None:
            return 200, "ok"  # a kind of update the bot does not use: acknowledged, dropped
        try:
            await self._sink.accept([entry])
        except Exception as exc:
            logger.error(
                "telegram: update %s was not stored (%s)", raw["update_id"], type(exc).__name__
            )
            logger.debug("telegram: sink failure", exc_info=True)
            return 500, "not stored"
        return 200, "ok"

    async def read(self, body: dict[str, Any]) -> Inbound | None:
        """The neutral event of a stored update; a pressed button is answered (Telegram
        shows a spinner until then) and its keyboard replaced by the choice."""
        try:
            update = Update.de_json(body, self._bot)
        except Exception as exc:
            update_id, error = body.get("update_id"), type(exc).__name__
            logger.error("telegram: update %s is unreadable (%s); skipped", update_id, error)
            return None
        try:
            event = to_inbound(update)
        except Exception:
            logger.exception("telegram: update %s could not be translated", update.update_id)
            event = None
        query = update.callback_query
        if query is not None:
            cosmetics = [self._cosmetic("answer", query.answer)]
            if event is not None and event.kind is Kind.CHOICE and not keeps_keyboard(query):
                cosmetics.append(self._mark_choice(query))
            await asyncio.gather(*cosmetics)
        return event

    async def send(self, delivery: Delivery) -> None:
        """Send every message of the delivery in order; raise RetryLater/Unreachable/Rejected."""
        chat_id = _chat_id(delivery.chat_id)
        bot = self.bot
        steps = plan(chat_id, delivery.messages)
        key = delivery.idempotency_key
        done = self._progress.pop(key, 0)
        for index in range(done, len(steps)):
            try:
                await steps[index](bot)
            except TelegramError as exc:
                outcome = verdict(exc)
                if outcome is None:
                    continue
                if index and isinstance(outcome, RetryLater):
                    self._remember(key, index)
                raise outcome from exc

    async def register_commands(self, menus: Sequence[CommandMenu]) -> None:
        """Set the command menu for each language and chat the menus name."""
        bot = self.bot
        for menu in menus:
            scope = BotCommandScopeChat(_chat_id(menu.chat_id)) if menu.chat_id else None
            commands = [BotCommand(name, description) for name, description in menu.commands]
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=menu.language_code)
            except TelegramError as exc:
                outcome = verdict(exc)
                if outcome is not None:
                    raise outcome from exc

    # -- inbound ---------------------------------------------------------------------------

    async def _polled(self, update: Update) -> None:
        """Commit one polled update to the inbox (the poller moves on only after this)."""
        entry = inbox_entry(without_personal_fields(update.to_dict()))
        if entry is not None:
            await self._sink.accept([entry])

    async def _mark_choice(self, query: CallbackQuery) -> None:
        """Replace the keyboard with one inert button that shows what was chosen."""
        message = query.message
        if message is None:
            return
        label = pressed_label(query)
        text = f"✓ {label}" if label else "✓"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=SPENT_CHOICE)]])

        async def edit() -> object:
            return await self.bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=markup
            )

        await self._cosmetic("edit keyboard", edit)

    async def _cosmetic(self, what: str, call: Callable[[], Awaitable[object]]) -> None:
        """Run a call the user only sees; its failure is logged and never loses the event."""
        try:
            await call()
        except Exception as exc:
            if isinstance(exc, TelegramError) and verdict(exc) is None:
                return  # "message is not modified": it already shows what we wanted
            logger.warning("telegram: could not %s (%s)", what, type(exc).__name__)

    def _request(self, *, pool_size: int, kind: type[HTTPXRequest] = HTTPXRequest) -> HTTPXRequest:
        seconds = self._request_timeout
        return kind(
            connection_pool_size=pool_size,
            read_timeout=seconds,
            write_timeout=seconds,
            connect_timeout=seconds,
            pool_timeout=seconds,
        )

    def _remember(self, key: str, done: int) -> None:
        self._progress[key] = done
        while len(self._progress) > _REMEMBERED_PROGRESS:
            self._progress.popitem(last=False)


def menu_language(locale: str) -> str | None:
    """The two-letter code setMyCommands takes for a locale ("zh_Hans" -> "zh"), if any."""
    code = locale.split("_", 1)[0].lower()
    return code if len(code) == 2 and code.isalpha() else None


def _file_url(api_url: str) -> str:
    base = api_url.removesuffix("/")
    if base.endswith("/bot"):
        return base.removesuffix("/bot") + "/file/bot"
    return base + "/file"


def _chat_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Rejected("a Telegram chat id is an integer") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
