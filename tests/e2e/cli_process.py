"""Run `furikaeri …` as the admin does: a real process, only the FURIKAERI_* variables given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_environment() -> dict[str, str]:
    """This process's environment without any FURIKAERI_* variable, the checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("FURIKAERI_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def furikaeri(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path,
    python: str = sys.executable,
    stdin: str = "",
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`furikaeri ARGS` (as `python -m bot.cli`), finished; stdout and stderr as text."""
    return subprocess.run(
        [python, "-m", "bot.cli", *args],
        env={**clean_environment(), **(env or {})},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.strip().splitlines()
