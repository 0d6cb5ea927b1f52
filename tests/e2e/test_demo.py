"""`furikaeri demo` runs the whole loop and prints what the student typed in the digest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _demo(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")},
    )


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_scripted_demo_prints_the_answers_in_the_digest(tmp_path: Path, locale: str) -> None:
    from bot.demo import ANSWERS

    result = _demo("--locale", locale, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    digest = result.stdout.split("=" * 60, 1)[1]
    for answer in ANSWERS[locale]:
        assert answer in digest
    assert not list(tmp_path.iterdir()), "the demo must not leave files behind"


def test_demo_plays_a_script_file(tmp_path: Path) -> None:
    script = tmp_path / "talk.txt"
    script.write_text(
        "# language, consent, then a session without topics\n"
        "student: [1]\nstudent: [1]\ncounselor: /session\ncounselor: [1]\ncounselor: [13]\n"
        "student: 自分で決めたいと思った 🌱\n",
        encoding="utf-8",
    )
    result = _demo("--script", str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "自分で決めたいと思った 🌱" in result.stdout.split("=" * 60, 1)[1]


def test_a_broken_script_is_one_clear_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("teacher: hello\n", encoding="utf-8")
    result = _demo("--script", str(script), cwd=tmp_path)
    assert result.returncode == 2
    assert "line 1" in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_interactive_demo_switches_roles_and_quits_with_the_digest() -> None:
    from bot.demo import run_demo
    from handlers import admin

    typed = iter(
        [
            "1",
            "1",
            ":c",
            "/session",
            "1",
            "1",
            "13",
            ":s",
            "1",
            "I want to choose for myself.",
            ":q",
        ]
    )
    shown: list[str] = []

    async def read(prompt: str) -> str | None:
        return next(typed, None)

    assert await run_demo(admin=admin, locale="en", script=None, write=shown.append, read=read) == 0
    screen = "\n".join(shown)
    digest = screen.split("=" * 60, 1)[1]
    assert "I want to choose for myself." in digest
    assert "[student] I want to choose for myself." not in screen  # typed lines are not echoed
