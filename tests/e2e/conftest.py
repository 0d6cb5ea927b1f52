"""The end-to-end tests' fixtures (defined in tests/e2e/fixtures.py)."""

from tests.e2e.fixtures import line, line_server, make_world, telegram_server, tg

__all__ = ["line", "line_server", "make_world", "telegram_server", "tg"]
