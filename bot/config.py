"""Typed settings from the environment (prefix FURIKAERI_) and an optional .env file."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import SHIPPED_LOCALES
from bot.sqlite_path import sqlite_path_problem
from bot.unknown_settings import unknown_variable_warnings

PLACEHOLDERS = {"changeme", "change-me", "xxx", "your-token-here", "token", "secret"}


class ConfigError(Exception):
    """A setting is wrong; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FURIKAERI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./furikaeri.db"
    timezone: str = "Asia/Tokyo"
    default_locale: str = "ja"
    schedule_file: Path | None = None
    prompts_dir: Path | None = None  # files here replace the shipped prompts/ of the same name
    log_level: str = "INFO"
    log_json: bool = False
    retention_days: int = Field(default=365, ge=1)
    code_ttl_days: int = Field(default=14, ge=1)

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_bot_username: str | None = None  # for t.me deep links in invites
    telegram_poll_timeout: float = Field(default=10.0, gt=0, le=60)  # long-poll seconds
    # Messages per second for the whole bot, all processes together (Telegram allows ~30).
    telegram_messages_per_second: float = Field(default=29.0, gt=0, le=1000)

    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_url: str = "https://api.line.me"
    line_messages_per_second: float = Field(default=10.0, gt=0)
    api_timeout: float = Field(default=10.0, gt=0, le=120)  # seconds per Telegram/LINE call

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    # Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""

    # Machine translation of answers for the counselor (off unless chosen; see docs/privacy.md).
    translator: Literal["none", "libretranslate", "deepl"] = "none"
    libretranslate_url: str | None = None
    libretranslate_api_key: SecretStr | None = None
    deepl_auth_key: SecretStr | None = None
    deepl_server_url: str | None = None
    translator_timeout: float = Field(default=20.0, gt=0, le=300)  # seconds per request

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("prompts_dir")
    @classmethod
    def _existing_directory(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{str(value)!r} is not a directory")
        return value

    @field_validator("default_locale")
    @classmethod
    def _shipped_locale(cls, value: str) -> str:
        if value not in SHIPPED_LOCALES:
            raise ValueError(f"{value!r} is not one of {', '.join(SHIPPED_LOCALES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            value = "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        if value.startswith("sqlite+aiosqlite:///"):
            # A missing folder is a bad setting, reported before anything connects.
            path = value.removeprefix("sqlite+aiosqlite:///").split("?", 1)[0]
            if problem := sqlite_path_problem(path):
                raise ValueError(problem)
        return value

    @field_validator(
        "telegram_token",
        "telegram_webhook_secret",
        "line_channel_secret",
        "line_channel_access_token",
        "libretranslate_api_key",
        "deepl_auth_key",
    )
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if value.get_secret_value().strip().lower() in PLACEHOLDERS:
            raise ValueError("is a placeholder; set the real value")
        return value

    @field_validator("translator", mode="before")
    @classmethod
    def _translator_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("libretranslate_url", "deepl_server_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) < 1:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _translator_is_complete(self) -> Settings:
        if self.translator == "libretranslate" and not self.libretranslate_url:
            raise ValueError(
                "FURIKAERI_LIBRETRANSLATE_URL is required when FURIKAERI_TRANSLATOR=libretranslate"
            )
        if self.translator == "deepl" and self.deepl_auth_key is None:
            raise ValueError("FURIKAERI_DEEPL_AUTH_KEY is required when FURIKAERI_TRANSLATOR=deepl")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _ip_networks(cls, value: str) -> str:
        for part in _parts(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network (CIDR)") from None
        return ",".join(_parts(value))

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError(
                "FURIKAERI_TELEGRAM_WEBHOOK_SECRET is required when "
                "FURIKAERI_TELEGRAM_WEBHOOK_URL is set"
            )
        if bool(self.line_channel_secret) != bool(self.line_channel_access_token):
            raise ValueError(
                "set both FURIKAERI_LINE_CHANNEL_SECRET and FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in _parts(self.trusted_proxies))

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def line_enabled(self) -> bool:
        return self.line_channel_secret is not None and self.line_channel_access_token is not None


def setting_names() -> list[str]:
    """Every FURIKAERI_* variable the settings class reads."""
    return sorted("FURIKAERI_" + name.upper() for name in Settings.model_fields)


def _parts(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings(**overrides: object) -> Settings:
    """Build settings or raise ConfigError with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if field:
            raise ConfigError(f"FURIKAERI_{field.upper()}: {message}") from None
        raise ConfigError(message) from None


def settings_or_exit() -> Settings:
    """Settings for a command line entry point: a bad value prints one line and exits 2;
    a FURIKAERI_* variable that is no setting gets a warning naming the closest one."""
    for warning in unknown_variable_warnings(setting_names()):
        print(f"furikaeri: warning: {warning}", file=sys.stderr)
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"furikaeri: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
