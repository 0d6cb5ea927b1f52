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


def test_scripted_demo_shows_what_both_sides_typed_and_pressed(tmp_path: Path) -> None:
    from bot.demo import ANSWERS

    result = _demo("--locale", "en", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    talk = result.stdout.split("=" * 60, 1)[0]
    for typed in ("counselor> /session", *(f"student> {answer}" for answer in ANSWERS["en"])):
        assert f"\n{typed}\n" in talk, typed
    # Buttons show their label, each right after the keyboard it was pressed on.
    assert "student> [pressed: I agree]" in talk
    assert "counselor> [pressed: Interviews]" in talk
    keyboard = talk.index("  [3] Interviews")
    assert keyboard < talk.index("counselor> [pressed: Interviews]")
    # The bot's answer to a typed line comes after the line.
    noticed = talk.index(f"student> {ANSWERS['en'][0]}")
    assert talk.index("[bot → student]", noticed) > noticed


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
    from bot.cli import demo_admin
    from bot.demo import run_demo

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

    assert (
        await run_demo(locale="en", script=None, admin=demo_admin(), write=shown.append, read=read)
        == 0
    )
    screen = "\n".join(shown)
    digest = screen.split("=" * 60, 1)[1]
    assert "I want to choose for myself." in digest
    # Typed lines are already on the terminal: not echoed, neither as text nor as presses.
    assert "I want to choose for myself." not in digest_free(screen)
    assert "[pressed:" not in screen
    assert "counselor> /start" in screen  # the set-up lines nobody typed are shown


def digest_free(screen: str) -> str:
    return screen.split("=" * 60, 1)[0]
