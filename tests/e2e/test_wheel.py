"""The installed package (non-editable, as in the Dockerfile) finds its prompts, catalogs
and migrations, and runs the scripted demo."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("furikaeri-*.whl")
    return built


def test_wheel_carries_the_data_directories(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "bot/_data/prompts/reflection.yaml" in names
    assert "bot/_data/locales/ja/LC_MESSAGES/messages.po" in names
    assert "bot/_data/migrations/env.py" in names
    assert any(n.startswith("bot/_data/migrations/versions/") for n in names)
    assert "handlers/__init__.py" in names
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FURIKAERI_")}
    env["PYTHONPATH"] = str(target)  # ahead of the editable checkout on sys.path
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import bot, bot.paths as p; print(bot.__file__); print(p.data_dir('prompts'))",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(line.startswith(str(target)) for line in where.stdout.splitlines())
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--locale", "ja"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert "金曜日までに自分の強みを3つ書いてみる。" in result.stdout
