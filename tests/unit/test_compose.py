"""compose.yaml holds what a deployment beyond one career center needs (read, not run: no
Docker daemon in the tests): PostgreSQL on a volume, one web process, two workers, health
checks, and a stop that leaves furikaeri its 10 s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8")))


def seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_postgresql_keeps_its_data_in_a_volume_and_says_when_it_is_ready() -> None:
    spec = compose()
    db = spec["services"]["db"]
    assert db["image"].startswith("postgres:")
    [volume] = db["volumes"]
    name, _, path = volume.partition(":")
    assert path == "/var/lib/postgresql/data" and name in spec["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_one_web_process_and_two_workers_share_the_database() -> None:
    services = compose()["services"]
    web, worker = services["web"], services["worker"]
    assert web["command"] == ["run", "--role", "web"]
    assert worker["command"] == ["run", "--role", "worker"]
    assert worker["deploy"]["replicas"] == 2
    assert "ports" not in worker  # only the web process takes requests from outside
    assert [p.split(":")[-1] for p in web["ports"]] == ["8080"]
    for service in (web, worker):
        url = service["environment"]["FURIKAERI_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and "@db:5432/" in url
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["stop_signal"] == "SIGTERM"
        assert seconds(service["stop_grace_period"]) > 10  # furikaeri needs at most 10 s
        assert service["environment"]["FURIKAERI_HTTP_HOST"] == "0.0.0.0"
