"""The installed package (non-editable, as in the Dockerfile) finds its prompts, catalogs
and migrations: built from exactly the files the Dockerfile copies, and installed with
`pip install .` into a fresh virtual environment, where the `furikaeri` command works."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.unit.test_dockerfile import stages

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def docker_build_context(target: Path) -> Path:
    """Copy what the Dockerfile's build stage copies, nothing more (as `docker build`)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for keyword, arguments in stages()[0]:
        if keyword != "COPY" or "--from" in arguments:
            continue
        for source in arguments.split()[:-1]:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, target / source, ignore=ignore)
            else:
                shutil.copy(path, target / source)
    return target


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return docker_build_context(tmp_path_factory.mktemp("context"))


@pytest.fixture(scope="module")
def wheel(context: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=context,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("furikaeri-*.whl")
    return built


def test_wheel_carries_the_data_directories(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "bot/_data/prompts/reflection.yaml" in names
    assert "bot/_data/prompts/safety.yaml" in names
    assert "bot/_data/locales/ja/LC_MESSAGES/messages.po" in names
    assert "bot/_data/migrations/env.py" in names
    assert any(n.startswith("bot/_data/migrations/versions/") for n in names)
    assert "handlers/__init__.py" in names
    assert not any(n.startswith("tests/") for n in names)


@pytest.fixture(scope="module")
def fresh_venv(context: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` of the build context into a new virtual environment.

    No network in the tests: the dependencies are lent read-only from this environment's
    site-packages through a .pth line (its own .pth files, such as the editable install of
    this checkout, are not processed from there), and pip builds with the hatchling found
    there. furikaeri itself is installed for real, into the new environment.
    """
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    lent = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (Path(purelib) / "_lent_dependencies.pth").write_text(
        "\n".join(dict.fromkeys(lent)) + "\n", encoding="utf-8"
    )
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            ".",
        ],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return venv


def run_installed(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("FURIKAERI_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["FURIKAERI_DATABASE_URL"] = f"sqlite+aiosqlite:///{cwd / 'furikaeri.db'}"
    return subprocess.run(
        [str(venv / "bin" / "furikaeri"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_fresh_venv_install_serves_an_admins_first_commands(
    fresh_venv: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [
            str(fresh_venv / "bin" / "python"),
            "-c",
            "import bot, bot.paths as p; print(bot.__file__); print(p.data_dir('migrations'))",
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(line.startswith(str(fresh_venv)) for line in where.stdout.splitlines()), where.stdout

    upgraded = run_installed(fresh_venv, "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    added = run_installed(fresh_venv, "counselor", "add", "Sato", "--json", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["id"] == 1

    doctor = run_installed(fresh_venv, "doctor", "--json", cwd=tmp_path)
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    for name in ("languages", "prompts", "database", "schema"):
        assert checks[name]["ok"], checks[name]  # the packed data directories are found

    demo = run_installed(fresh_venv, "demo", "--locale", "ja", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "金曜日までに自分の強みを3つ書いてみる。" in demo.stdout
