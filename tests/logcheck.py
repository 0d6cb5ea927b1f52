"""Capture the app's logs as a deployment with FURIKAERI_LOG_LEVEL=DEBUG would write them.

`app_logs` runs `bot.logs.setup("DEBUG", json_lines=True)` (its JSON lines go to a buffer in
place of stderr) and keeps pytest's caplog attached, so a test sees every record raw, as
JSON lines, and as plain lines.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.logs import LIBRARY_FLOORS, formatter, setup


@dataclass
class AppLogs:
    caplog: pytest.LogCaptureFixture
    stream: io.StringIO

    @property
    def records(self) -> list[logging.LogRecord]:
        return self.caplog.records

    @property
    def json_lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line.startswith("{")]

    def everything(self) -> str:
        """Every record: pytest's rendering, the JSON lines, and the plain lines."""
        plain = formatter(json_lines=False)
        return "\n".join(
            [
                self.caplog.text,
                self.stream.getvalue(),
                *(plain.format(record) for record in self.records),
            ]
        )


@pytest.fixture
def app_logs(caplog: pytest.LogCaptureFixture) -> Iterator[AppLogs]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in LIBRARY_FLOORS}
    stream = io.StringIO()
    setup("DEBUG", json_lines=True)
    [configured] = root.handlers
    to_buffer = logging.StreamHandler(stream)  # what would go to stderr, with its formatter
    to_buffer.setFormatter(configured.formatter)
    root.handlers[:] = [to_buffer, caplog.handler]
    try:
        yield AppLogs(caplog, stream)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, old in saved_levels.items():
            logging.getLogger(name).setLevel(old)
