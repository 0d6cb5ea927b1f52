"""`furikaeri doctor` as a real process against the fake Telegram and LINE servers: one line
per check, ✓ or ✗ with the fix, exit 0 only when every check holds."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_process import ROOT, furikaeri
from tests.e2e.world import LINE_SECRET, LINE_TOKEN, TG_HOOK, TG_SECRET, TG_TOKEN
from tests.fakes.libretranslate_api import FakeLibreTranslate
from tests.fakes.line_api import LineApiFake
from tests.fakes.server import LocalServer, Swappable, free_port
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow

LINE_HOOK = TG_HOOK.replace("/webhook/telegram", "/webhook/line")
OWN_CONTACT = """
  - id: campus_counseling
    local: true
    name: "Campus counseling room"
    phone: "03-0000-0000"
    hours: "Weekdays 9:00-17:00"
    source: "https://www.example.ac.jp/counseling"
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated by `furikaeri db upgrade`; each test works on a copy."""
    folder = tmp_path_factory.mktemp("migrated")
    url = f"sqlite+aiosqlite:///{folder / 'furikaeri.db'}"
    result = furikaeri("db", "upgrade", env={"FURIKAERI_DATABASE_URL": url}, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "furikaeri.db"


@pytest.fixture
def deployment(
    tmp_path: Path,
    migrated: Path,
    tg: FakeTelegram,
    line: LineApiFake,
    telegram_server: tuple[LocalServer, Swappable],
    line_server: tuple[LocalServer, Swappable],
) -> dict[str, str]:
    """A healthy deployment's variables: both webhooks registered where configured."""
    shutil.copy(migrated, tmp_path / "furikaeri.db")
    tg.webhook.update(url=TG_HOOK, secret_token=TG_SECRET)  # as `furikaeri run` left it
    line.set_webhook(LINE_HOOK, active=True)  # as set in the LINE Developers console
    return {
        "FURIKAERI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'furikaeri.db'}",
        "FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN,
        "FURIKAERI_TELEGRAM_API_URL": f"{telegram_server[0].url}/bot",
        "FURIKAERI_TELEGRAM_WEBHOOK_URL": TG_HOOK,
        "FURIKAERI_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "FURIKAERI_TELEGRAM_BOT_USERNAME": tg.bot_user["username"],
        "FURIKAERI_LINE_CHANNEL_SECRET": LINE_SECRET,
        "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "FURIKAERI_LINE_API_URL": line_server[0].url,
        "FURIKAERI_API_TIMEOUT": "5",
    }


def doctor(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run `furikaeri doctor --json`; the exit code and the checks by name (several lines
    of one name are numbered: "settings", "settings#2", ...)."""
    result = furikaeri("doctor", "--json", *args, env=env, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    body = json.loads(result.stdout)
    checks: dict[str, dict[str, Any]] = {}
    for check in body["checks"]:
        name, n = check["name"], 2
        while name in checks:
            name, n = f"{check['name']}#{n}", n + 1
        checks[name] = check
    assert body["ok"] == (result.returncode == 0) == all(c["ok"] for c in checks.values())
    return result.returncode, checks


def failing(checks: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, check in checks.items() if not check["ok"]}


def with_own_contacts(tmp_path: Path) -> dict[str, str]:
    """FURIKAERI_PROMPTS_DIR naming a folder whose safety.yaml adds the university's own
    help contact first, as an admin does."""
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    text = (ROOT / "prompts" / "safety.yaml").read_text(encoding="utf-8")
    (prompts / "safety.yaml").write_text(
        text.replace("contacts:\n", "contacts:" + OWN_CONTACT, 1), encoding="utf-8"
    )
    return {"FURIKAERI_PROMPTS_DIR": str(prompts)}


def test_a_healthy_deployment_passes_every_check(
    tmp_path: Path, deployment: dict[str, str]
) -> None:
    result = furikaeri("doctor", env={**deployment, **with_own_contacts(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert all(line.startswith("✓ ") for line in lines[:-1]), lines
    assert lines[-1] == f"all {len(lines) - 1} checks hold"
    text = result.stdout
    for found in (
        "database: sqlite+aiosqlite:///",
        "schema: at the newest migration",
        "telegram: the token belongs to @furikaeri_bot",
        f"telegram webhook: Telegram delivers to {TG_HOOK}",
        "line: the token belongs to furikaeri (@123abcde)",
        f"line webhook: LINE delivers to {LINE_HOOK}",
        "help contacts: 4 configured, your own: Campus counseling room",
        "time zone: Asia/Tokyo",
        "languages: 12 catalogs load",
    ):
        assert found in text, found
    assert TG_TOKEN not in text and LINE_TOKEN not in text


def test_with_only_the_shipped_help_contacts_doctor_warns_and_exits_1(
    tmp_path: Path, deployment: dict[str, str]
) -> None:
    code, checks = doctor(deployment, tmp_path)
    assert code == 1
    assert failing(checks) == {"help contacts"}
    contacts = checks["help contacts"]
    assert contacts["warning"] and "119" in contacts["detail"] and "safety.yaml" in contacts["fix"]


def test_refused_tokens_are_named_with_the_fix(tmp_path: Path, deployment: dict[str, str]) -> None:
    env = {
        **deployment,
        "FURIKAERI_TELEGRAM_TOKEN": "123456:not-the-bots-token",
        "FURIKAERI_LINE_CHANNEL_ACCESS_TOKEN": "not-the-channel-token",
    }
    result = furikaeri("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    telegram = next(line for line in lines if line.startswith("✗ telegram:"))
    assert "refused the token" in telegram and "@BotFather" in telegram
    line = next(line for line in lines if line.startswith("✗ line:"))
    assert "refused the channel access token" in line and "LINE Developers console" in line
    assert "not-the-bots-token" not in result.stdout + result.stderr
    assert "not-the-channel-token" not in result.stdout + result.stderr


def test_webhooks_that_point_elsewhere_or_fail(
    tmp_path: Path, deployment: dict[str, str], tg: FakeTelegram, line: LineApiFake
) -> None:
    tg.webhook_error = "Wrong response from the webhook: 502 Bad Gateway"
    line.set_webhook("https://old-server.example.ac.jp/callback", active=False)
    code, checks = doctor(deployment, tmp_path)
    assert code == 1
    assert "502 Bad Gateway" in checks["telegram webhook"]["detail"]
    assert "reverse proxy" in checks["telegram webhook"]["fix"]
    assert "/webhook/line" in checks["line webhook"]["detail"]
    assert LINE_HOOK in checks["line webhook"]["fix"]

    tg.webhook_error = None
    tg.webhook["url"] = "https://someone-else.example/webhook/telegram"
    line.set_webhook(LINE_HOOK, active=False)
    code, checks = doctor(deployment, tmp_path)
    assert "someone-else.example" in checks["telegram webhook"]["detail"]
    assert "Use webhook" in checks["line webhook"]["fix"]

    tg.webhook["url"] = ""  # `furikaeri run` has not registered it yet
    code, checks = doctor(deployment, tmp_path)
    assert "not registered" in checks["telegram webhook"]["detail"]
    assert "furikaeri run" in checks["telegram webhook"]["fix"]


def test_a_wrong_invite_username_and_a_missing_one(
    tmp_path: Path, deployment: dict[str, str]
) -> None:
    env = {**deployment, "FURIKAERI_TELEGRAM_BOT_USERNAME": "another_bot"}
    _, checks = doctor(env, tmp_path)
    invites = checks["telegram invites"]
    assert not invites["ok"] and not invites["warning"]
    assert invites["fix"] == "set FURIKAERI_TELEGRAM_BOT_USERNAME=furikaeri_bot"
    env.pop("FURIKAERI_TELEGRAM_BOT_USERNAME")
    _, checks = doctor(env, tmp_path)
    assert checks["telegram invites"]["warning"]


def test_a_database_behind_the_newest_migration(tmp_path: Path, deployment: dict[str, str]) -> None:
    with sqlite3.connect(tmp_path / "furikaeri.db") as db:
        (head,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        db.execute("UPDATE alembic_version SET version_num = 'ffff'")
    _, checks = doctor(deployment, tmp_path)
    assert "which this furikaeri does not know" in checks["schema"]["detail"]

    (tmp_path / "furikaeri.db").unlink()
    sqlite3.connect(tmp_path / "furikaeri.db").close()  # an empty file: never migrated
    _, checks = doctor(deployment, tmp_path)
    assert checks["database"]["ok"]
    assert not checks["schema"]["ok"] and checks["schema"]["fix"].startswith("furikaeri db upgrade")
    assert head  # the migrated copy had a revision


def test_doctor_does_not_create_a_missing_database(tmp_path: Path) -> None:
    env = {"FURIKAERI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"}
    code, checks = doctor(env, tmp_path)
    assert code == 1
    assert "does not exist yet" in checks["database"]["detail"]
    assert checks["database"]["fix"] == "furikaeri db upgrade"
    assert "channels" in failing(checks)  # neither Telegram nor LINE configured
    assert not (tmp_path / "new.db").exists()


def test_an_unreachable_postgresql_is_one_failed_check(tmp_path: Path) -> None:
    port = free_port()
    env = {"FURIKAERI_DATABASE_URL": f"postgresql+asyncpg://u:pw-123@127.0.0.1:{port}/f"}
    result = furikaeri("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if line.startswith("✗ database:")]
    assert f"127.0.0.1:{port} (connection refused)" in line
    assert "pw-123" not in result.stdout


def test_unknown_variables_and_bad_settings(tmp_path: Path, deployment: dict[str, str]) -> None:
    env = {**deployment, "FURIKAERI_LINE_CHANEL_SECRET": "x"}
    _, checks = doctor(env, tmp_path)
    assert "did you mean FURIKAERI_LINE_CHANNEL_SECRET?" in checks["settings"]["detail"]

    result = furikaeri(
        "doctor", env={**deployment, "FURIKAERI_TIMEZONE": "Mars/Base"}, cwd=tmp_path
    )
    assert result.returncode == 2  # as every command: one line naming the variable
    assert result.stderr.strip().splitlines() == [
        "furikaeri: configuration error: FURIKAERI_TIMEZONE: unknown IANA time zone 'Mars/Base'"
    ]


def test_schema_check_before_and_after_db_upgrade(tmp_path: Path, database_url: str) -> None:
    env = {"FURIKAERI_DATABASE_URL": database_url}
    if database_url.startswith("sqlite"):
        Path(database_url.split(":///", 1)[1]).touch()  # an empty file: connected, no tables
    _, checks = doctor(env, tmp_path)
    assert checks["database"]["ok"], checks["database"]
    assert checks["schema"]["detail"] == "no tables yet"

    upgraded = furikaeri("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    _, checks = doctor(env, tmp_path)
    assert checks["schema"]["ok"] and "newest migration" in checks["schema"]["detail"]


def test_a_configured_translator_is_checked(
    tmp_path: Path,
    deployment: dict[str, str],
    libre: FakeLibreTranslate,
    libretranslate_server: tuple[LocalServer, Swappable],
) -> None:
    env = {
        **deployment,
        "FURIKAERI_TRANSLATOR": "libretranslate",
        "FURIKAERI_LIBRETRANSLATE_URL": libretranslate_server[0].url,
    }
    _, checks = doctor(env, tmp_path)
    assert checks["translator"]["ok"], checks["translator"]

    env["FURIKAERI_LIBRETRANSLATE_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing there
    _, checks = doctor(env, tmp_path)
    assert not checks["translator"]["ok"]
    assert "does not answer" in checks["translator"]["detail"]
    assert "FURIKAERI_LIBRETRANSLATE_URL" in checks["translator"]["fix"]
