"""`furikaeri run` with FURIKAERI_PROMPTS_DIR, as a real process: the deployment's own
safety.yaml is what a student in crisis sees, the start-up warning about a missing local
contact goes away, and a broken file stops the start with one line naming it (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.paths import data_dir
from tests.e2e.test_run_command import Running, env_for, run_and_wait, servers
from tests.e2e.world import TG_TOKEN, eventually
from tests.fakes.line_api import LineApiFake
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow
__all__ = ["servers"]  # the fixture, shared with test_run_command

STRANGER = 4321
WARNING = "safety.no_local_contact"


def prompts_folder(tmp_path: Path, **contact: object) -> Path:
    folder = tmp_path / "our-prompts"
    folder.mkdir()
    data = yaml.safe_load((data_dir("prompts") / "safety.yaml").read_text("utf-8"))
    data["contacts"].insert(
        0,
        {
            "id": "campus_counseling",
            "local": True,
            "name": "Campus Counseling Center",
            "phone": "06-1234-5678",
            "hours": "Weekdays 9:00-17:00",
            "source": "https://www.example-u.ac.jp/counseling/",
            **contact,
        },
    )
    (folder / "safety.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return folder


async def _crisis_from_a_stranger(bot: Running, tg: FakeTelegram) -> str:
    await bot.healthy()
    tg.push_update(tg.text_update(STRANGER, "i wanna die"))
    await eventually(lambda: len(tg.sent_messages(STRANGER)) >= 1, "help sent")
    return str(tg.sent_messages(STRANGER)[0]["text"])


async def test_run_uses_the_folders_safety_file_and_does_not_warn(
    tmp_path: Path, servers: tuple[FakeTelegram, LineApiFake, str, str]
) -> None:
    tg, _, tg_url, _ = servers
    env = env_for(tmp_path, tg_url, webhook=False)
    env["FURIKAERI_PROMPTS_DIR"] = str(prompts_folder(tmp_path))
    bot = Running(env, tmp_path)
    try:
        help_text = await _crisis_from_a_stranger(bot, tg)
        code, stderr = bot.terminate()
    finally:
        bot.kill()
    assert code == 0, stderr
    assert help_text.splitlines()[1] == (
        "• Campus Counseling Center: 06-1234-5678 (Weekdays 9:00-17:00)"
    )
    assert WARNING not in stderr


async def test_run_warns_at_start_while_no_local_contact_is_configured(
    tmp_path: Path, servers: tuple[FakeTelegram, LineApiFake, str, str]
) -> None:
    tg, _, tg_url, _ = servers
    bot = Running(env_for(tmp_path, tg_url, webhook=False), tmp_path)
    try:
        help_text = await _crisis_from_a_stranger(bot, tg)
        code, stderr = bot.terminate()
    finally:
        bot.kill()
    assert code == 0, stderr
    assert "Campus" not in help_text and "119" in help_text
    [warning] = [line for line in stderr.splitlines() if WARNING in line]
    assert warning.startswith("WARNING") and "FURIKAERI_PROMPTS_DIR" in warning


@pytest.mark.parametrize(
    ("contact", "field"),
    [({"phone": None}, "contacts.0.phone"), ({"source": "my friend"}, "contacts.0.source")],
)
def test_run_refuses_a_broken_file_in_one_line(
    tmp_path: Path, contact: dict[str, object], field: str
) -> None:
    folder = prompts_folder(tmp_path, **contact)
    env = {"FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN, "FURIKAERI_PROMPTS_DIR": str(folder)}
    code, lines = run_and_wait(env, tmp_path)
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"furikaeri: FURIKAERI_PROMPTS_DIR: our-prompts/safety.yaml: {field}: "
    )
    assert not (tmp_path / "furikaeri.db").exists()  # nothing started


def test_run_refuses_a_folder_that_is_not_there(tmp_path: Path) -> None:
    env = {"FURIKAERI_TELEGRAM_TOKEN": TG_TOKEN, "FURIKAERI_PROMPTS_DIR": str(tmp_path / "no")}
    code, lines = run_and_wait(env, tmp_path)
    assert code == 2
    assert len(lines) == 1 and "FURIKAERI_PROMPTS_DIR" in lines[0], lines
