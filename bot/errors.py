"""Everyday deployment mistakes as one line each: the one place the CLI maps exceptions.

`explain(exc, settings)` names the problem and the variable to fix for what an admin gets
wrong on day one (a database that cannot be reached, a prompts or schedule file that does
not load); for anything else it returns None and the caller lets the traceback through,
because that is a bug worth reporting.
"""

from __future__ import annotations

import socket
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.config import ConfigError, Settings, load_settings
from bot.prompts import PromptError
from bot.sqlite_path import sqlite_path_problem

EXIT_USAGE = 2  # the exit code of a bad setting or file, as for a bad env var
DATABASE_VARIABLE = "FURIKAERI_DATABASE_URL"

# asyncpg's exception class names, so this module need not import the driver.
_NO_DATABASE = "InvalidCatalogNameError"
_LOGIN_REFUSED = ("InvalidAuthorizationSpecificationError", "InvalidPasswordError")
_NOT_READY = ("CannotConnectNowError", "TooManyConnectionsError")


def explain(exc: BaseException, settings: Settings | None) -> str | None:
    """One line (without the "furikaeri: " prefix) for a known mistake, else None."""
    if isinstance(exc, PromptError):
        return _prompt_line(exc, settings)
    if settings is not None:
        return database_problem(exc, settings.database_url)
    return None


def database_problem(exc: BaseException, url: str) -> str | None:
    """Why the database at `url` could not be opened, naming the variable; else None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_problem(exc, parsed.database or "")
    return _postgres_problem(exc, parsed.host or "localhost", parsed.port or 5432, parsed)


def _sqlite_problem(exc: BaseException, database: str) -> str | None:
    if not (isinstance(exc, DBAPIError) and "unable to open database file" in str(exc.orig)):
        return None
    problem = sqlite_path_problem(database) or "unable to open the file"
    return f"{DATABASE_VARIABLE}: {problem}"


def _postgres_problem(exc: BaseException, host: str, port: int, parsed: object) -> str | None:
    at = f"PostgreSQL at {host}:{port}"
    name = getattr(parsed, "database", None) or "(default)"
    user = getattr(parsed, "username", None) or "(default)"
    if isinstance(exc, DBAPIError):
        cause = _driver_error(exc)
        kind = type(cause).__name__
        if kind == _NO_DATABASE:
            return (
                f"{DATABASE_VARIABLE}: the database {name!r} does not exist on {at}; "
                f'create it first (createdb {name}, or CREATE DATABASE "{name}";)'
            )
        if kind in _LOGIN_REFUSED:
            return f"{DATABASE_VARIABLE}: {at} refused the login of {user!r}: {cause}"
        if kind in _NOT_READY:
            return f"{DATABASE_VARIABLE}: {at} does not accept connections now: {cause}"
        return None
    if not _raised_while_connecting(exc):
        return None
    if isinstance(exc, socket.gaierror):
        return f"{DATABASE_VARIABLE}: the database host {host!r} is not known (DNS: {exc})"
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"{DATABASE_VARIABLE}: cannot connect to {at} (connection refused): "
            "is the server running and listening there?"
        )
    if isinstance(exc, TimeoutError):
        return f"{DATABASE_VARIABLE}: {at} did not answer in time: check the host and firewall"
    if isinstance(exc, OSError):
        return f"{DATABASE_VARIABLE}: cannot connect to {at}: {exc}"
    return None


def _driver_error(exc: DBAPIError) -> BaseException:
    """The asyncpg exception behind SQLAlchemy's wrapper (orig wraps it once more)."""
    cause: BaseException = exc.orig or exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return cause


def _raised_while_connecting(exc: BaseException) -> bool:
    # asyncpg lets socket errors through unwrapped; only those raised inside its connect
    # are the database's, not (say) a chat API's.
    frames = traceback.extract_tb(exc.__traceback__)
    return any("/asyncpg/" in frame.filename.replace("\\", "/") for frame in frames)


def _prompt_line(exc: PromptError, settings: Settings | None) -> str:
    """Name the setting that points at the broken file, when one does."""
    variable = _setting_for(Path(exc.file), settings) if settings is not None else None
    return f"{variable}: {exc}" if variable else f"prompts: {exc}"


def _setting_for(file: Path, settings: Settings) -> str | None:
    # Generic over every path-valued setting (the schedule file, a prompts folder, ...).
    target = file.expanduser().resolve()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if not isinstance(value, Path):
            continue
        configured = value.expanduser().resolve()
        if target == configured or configured in target.parents:
            return f"FURIKAERI_{name.upper()}"
    return None


@contextmanager
def one_line_for_known_errors() -> Iterator[None]:
    """Around a CLI entry point: a known mistake prints one line and exits 2."""
    try:
        yield
    except Exception as exc:
        line = explain(exc, _settings_or_none())
        if line is None:
            raise
        print(f"furikaeri: {line}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _settings_or_none() -> Settings | None:
    try:
        return load_settings()
    except ConfigError:
        return None
