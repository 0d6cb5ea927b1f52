"""The layout rules that keep the seams honest, checked on every run."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_channel_adapters_import_the_platform_sdks() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "handlers")
        for path in (ROOT / folder).rglob("*.py")
        if "channels" not in path.parts and imported_modules(path) & {"telegram", "linebot"}
    ]
    assert offenders == []


def test_handlers_build_no_sql() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "handlers").rglob("*.py")
        if imported_modules(path) & {"sqlalchemy", "telegram", "linebot"}
    ]
    assert offenders == []


def test_nothing_is_built_at_import_time() -> None:
    """Engines, clients and schedulers are created in the composition root, not at import."""
    for path in (ROOT / "bot").rglob("*.py"):
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
