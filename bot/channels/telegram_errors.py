"""Map Bot API errors to the channel verdicts, and keep the token out of SDK logs."""

from __future__ import annotations

import datetime as dtm
import logging
import warnings

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bot.channels.base import Rejected, RetryLater, Unreachable
from bot.logs import Redactor

_NOT_MODIFIED = "message is not modified"
_CHAT_GONE = ("chat not found", "user is deactivated")
# Loggers of the SDKs that may print the bot URL (with the token) or request parameters.
_SDK_LOGGERS = ("httpx", "telegram.Bot", "telegram.request.BaseRequest")


def delay_of(exc: RetryAfter) -> float:
    """Return RetryAfter's wait in seconds, whichever type this PTB version reports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


def verdict(exc: TelegramError) -> Exception | None:
    """Translate a Bot API error into RetryLater, Unreachable or Rejected; None is success."""
    message = exc.message.lower()
    if isinstance(exc, RetryAfter):
        return RetryLater("telegram flood control", after=delay_of(exc), throttled="chat")
    if isinstance(exc, Forbidden):
        return Unreachable(f"telegram: {exc.message}")
    if isinstance(exc, BadRequest):
        if _NOT_MODIFIED in message:
            return None
        if any(gone in message for gone in _CHAT_GONE):
            return Unreachable(f"telegram: {exc.message}")
        return Rejected(f"telegram: {exc.message}")
    if isinstance(exc, ChatMigrated):
        return Rejected("telegram: the group became a supergroup")
    if isinstance(exc, InvalidToken):
        return RetryLater("telegram: the bot token was refused")
    # NetworkError (timeouts, connection errors, 5xx), Conflict, and anything unknown.
    return RetryLater(f"telegram: {type(exc).__name__}")


class RedactToken(logging.Filter):
    """Mask the token and the webhook secret, and drop request dumps, in SDK log records."""

    def __init__(self, *secrets: str | None) -> None:
        super().__init__()
        self._redact = Redactor(secrets)

    def install(self) -> None:
        for name in _SDK_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def uninstall(self) -> None:
        for name in _SDK_LOGGERS:
            logging.getLogger(name).removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "telegram.Bot" and record.levelno <= logging.DEBUG:
            return False  # PTB dumps every request's parameters (message text) at DEBUG
        if record.name == "telegram.request.BaseRequest":
            record.args = None  # the unparsable server answer, which may hold message text
        text = record.getMessage()
        redacted = self._redact(text)
        if redacted != text:
            record.msg, record.args = redacted, None
        return True
