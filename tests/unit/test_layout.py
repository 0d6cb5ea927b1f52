"""The layout rules that keep the seams honest, checked on every run.

Who may import whom is import-linter's job ([tool.importlinter] in pyproject.toml); the
suite runs it, so a broken contract fails here too. What it cannot say is checked below.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_core_module_importing_a_feature_breaks_a_contract(tmp_path: Path) -> None:
    """The contracts bite: the engine reaching up into handlers/ is caught, even when the
    import hides inside a function."""
    for folder in ("bot", "handlers"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("_data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    core = tmp_path / "bot" / "engine" / "core.py"
    core.write_text(
        core.read_text(encoding="utf-8") + "\n\ndef _dodge():\n    import handlers.admin\n",
        encoding="utf-8",
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "bot.engine.core -> handlers.admin" in result.stdout


def test_nothing_is_built_at_import_time() -> None:
    """Engines, clients and schedulers are created in the composition root, not at import."""
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                name = ast.unparse(node.value.func).split(".")[-1]
                assert name not in {
                    "create_engine",
                    "create_async_engine",
                    "Bot",
                    "AsyncApiClient",
                    "AsyncIOScheduler",
                    "Settings",
                    "load_settings",
                    "Database",
                }, f"{path.relative_to(ROOT)}: {ast.unparse(node)}"
