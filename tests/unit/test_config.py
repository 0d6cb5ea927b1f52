"""Settings: sensible defaults, and a bad value is one clear line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("FURIKAERI_"):
            monkeypatch.delenv(key)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./furikaeri.db"
    assert settings.timezone == "Asia/Tokyo" and settings.default_locale == "ja"
    assert not settings.telegram_enabled and not settings.line_enabled


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("FURIKAERI_TIMEZONE", "Mars/Base", "FURIKAERI_TIMEZONE"),
        ("FURIKAERI_DEFAULT_LOCALE", "xx", "FURIKAERI_DEFAULT_LOCALE"),
        ("FURIKAERI_HTTP_PORT", "abc", "FURIKAERI_HTTP_PORT"),
        ("FURIKAERI_DATABASE_URL", "mysql://x", "FURIKAERI_DATABASE_URL"),
        ("FURIKAERI_TELEGRAM_TOKEN", "changeme", "FURIKAERI_TELEGRAM_TOKEN"),
        ("FURIKAERI_RETENTION_DAYS", "0", "FURIKAERI_RETENTION_DAYS"),
        ("FURIKAERI_TRUSTED_PROXIES", "10.0.0.1,proxy.example", "FURIKAERI_TRUSTED_PROXIES"),
        ("FURIKAERI_TRUSTED_PROXIES", "10.0.0.0/33", "FURIKAERI_TRUSTED_PROXIES"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_webhook_mode_requires_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FURIKAERI_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv(
        "FURIKAERI_TELEGRAM_WEBHOOK_URL", "https://bot.example.ac.jp/webhook/telegram"
    )
    with pytest.raises(ConfigError, match="FURIKAERI_TELEGRAM_WEBHOOK_SECRET"):
        load_settings(_env_file=None)


def test_trusted_proxies_are_addresses_and_networks() -> None:
    settings = load_settings(trusted_proxies=" 10.0.0.1, fd00::/8,", _env_file=None)
    assert [str(n) for n in settings.trusted_proxy_networks] == ["10.0.0.1/32", "fd00::/8"]
    assert load_settings(_env_file=None).trusted_proxy_networks == ()


def test_postgres_urls_get_the_async_driver() -> None:
    settings = load_settings(database_url="postgresql://u@db/furikaeri", _env_file=None)
    assert settings.database_url == "postgresql+asyncpg://u@db/furikaeri"


def test_the_cli_exits_2_with_one_line(tmp_path: object) -> None:
    env = {**os.environ, "FURIKAERI_TIMEZONE": "Mars/Base"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "students", "--counselor", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "FURIKAERI_TIMEZONE" in lines[0]
