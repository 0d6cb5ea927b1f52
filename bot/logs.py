"""Logging set-up: plain or JSON lines. Callers log event names and ids, never message text.

Libraries are held to a floor level, whatever FURIKAERI_LOG_LEVEL says, because at DEBUG
they log what must never be logged: aiosqlite every statement with its parameters (the
students' answers), httpx and PTB the request URLs (the Telegram token is in them) and
bodies, line-bot-sdk the response bodies (display names). Known secrets are masked in every
line as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.config import Settings

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
MASK = "<redacted>"

# logger name -> the lowest level it may log at
LIBRARY_FLOORS: dict[str, int] = {
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "asyncpg": logging.WARNING,
    "alembic": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "urllib3": logging.WARNING,
    "aiohttp": logging.WARNING,
    "apscheduler": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    "telegram": logging.INFO,
    "linebot": logging.INFO,
    "deepl": logging.WARNING,  # logs request bodies (the answers) at DEBUG
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD)
        line = f"{record.levelname} {record.name} {record.getMessage()} {extras}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class Redactor:
    """Replace known secrets in a text: the one way secrets are masked, in every log line,
    in SDK log records (bot/channels/telegram_errors.py) and in the start-up error."""

    MIN_LENGTH = 6  # shorter values would mask ordinary words

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        kept = {s for s in secrets if s and len(s) >= self.MIN_LENGTH}
        self.secrets = sorted(kept, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class MaskSecrets(logging.Formatter):
    """Wrap a formatter and replace every known secret in its output."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


class StderrHandler(logging.StreamHandler):
    """Write to whatever `sys.stderr` is when a line is logged (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def formatter(*, json_lines: bool, secrets: Iterable[str] = ()) -> logging.Formatter:
    inner: logging.Formatter = JsonFormatter() if json_lines else PlainFormatter()
    return MaskSecrets(inner, secrets)


def hold_libraries(level: int) -> None:
    """Keep chatty libraries at or above their floor (and at or above `level`)."""
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, level))


def secrets_of(settings: Settings) -> list[str]:
    """Every secret in the settings: tokens, channel secrets, the database password."""
    found = [
        value.get_secret_value()
        for value in (getattr(settings, name) for name in type(settings).model_fields)
        if isinstance(value, SecretStr) and value.get_secret_value()
    ]
    password = make_url(settings.database_url).password
    if password:
        found.append(str(password))
    return found


def setup(level: str, *, json_lines: bool, secrets: Iterable[str] = ()) -> None:
    handler = StderrHandler()
    handler.setFormatter(formatter(json_lines=json_lines, secrets=secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    hold_libraries(root.level)
