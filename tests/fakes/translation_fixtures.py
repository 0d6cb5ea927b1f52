"""Fixtures for the fake translation services, one loopback server each per test session,
with a fresh fake plugged in for every test. Registered in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.deepl_api import FakeDeepL
from tests.fakes.libretranslate_api import FakeLibreTranslate
from tests.fakes.server import LocalServer, Swappable, serve_swappable

LIBRE_KEY = "libre-api-key-0042"
DEEPL_KEY = "deepl-auth-key-0042:fx"


@pytest.fixture(scope="session")
def libretranslate_server() -> Iterator[tuple[LocalServer, Swappable]]:
    yield from serve_swappable()


@pytest.fixture(scope="session")
def deepl_server() -> Iterator[tuple[LocalServer, Swappable]]:
    yield from serve_swappable()


@pytest.fixture
def libre(libretranslate_server: tuple[LocalServer, Swappable]) -> FakeLibreTranslate:
    fake = FakeLibreTranslate(api_key=LIBRE_KEY)
    libretranslate_server[1].app = fake.app
    return fake


@pytest.fixture
def deepl_fake(deepl_server: tuple[LocalServer, Swappable]) -> FakeDeepL:
    fake = FakeDeepL(auth_key=DEEPL_KEY)
    deepl_server[1].app = fake.app
    return fake


def libretranslate_settings(server: LocalServer, **more: Any) -> dict[str, Any]:
    return {
        "translator": "libretranslate",
        "libretranslate_url": server.url,
        "libretranslate_api_key": LIBRE_KEY,
        "translator_timeout": 1.0,
        **more,
    }


def deepl_settings(server: LocalServer, **more: Any) -> dict[str, Any]:
    return {
        "translator": "deepl",
        "deepl_auth_key": DEEPL_KEY,
        "deepl_server_url": server.url,
        "translator_timeout": 1.0,
        **more,
    }
