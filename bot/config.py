"""Typed settings from the environment (prefix FURIKAERI_) and an optional .env file."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_url: str = "https://api.line.me"
    line_messages_per_second: float = Field(default=10.0, gt=0)
    api_timeout: float = Field(default=10.0, gt=0, le=120)  # seconds per Telegram/LINE call

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _shipped_locale(cls, value: str) -> str:
        from bot.i18n import SHIPPED_LOCALES

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
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @field_validator(
        "telegram_token",
        "telegram_webhook_secret",
        "line_channel_secret",
        "line_channel_access_token",
    )
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if value.get_secret_value().strip().lower() in PLACEHOLDERS:
            raise ValueError("is a placeholder; set the real value")
        return value

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
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def line_enabled(self) -> bool:
        return self.line_channel_secret is not None and self.line_channel_access_token is not None


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
    """Settings for a command line entry point: a bad value prints one line and exits 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"furikaeri: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
