"""The translator port: what the core needs of a machine-translation service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Translated:
    text: str
    source: str | None  # the source language (a locale where one fits), as given or detected


class TranslatorUnavailable(Exception):
    """Down, overloaded (429), failing (5xx) or too slow: try again later."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class TranslatorRejected(Exception):
    """The service refused the request (bad key, quota, bad request): retrying rarely helps."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class MachineTranslator(Protocol):
    """A service that translates texts between our locales (ja, en, zh_Hans, ...).

    `source=None` asks the service to detect the language; each result then says what it
    found. Implementations raise TranslatorUnavailable or TranslatorRejected, and never
    log the texts.
    """

    name: str  # shown to counselors and students: "DeepL", "LibreTranslate"

    async def supports(self, source: str | None, target: str) -> bool:
        """Whether this pair can be translated (`source=None`: any detected language)."""
        ...

    async def translate(
        self, texts: Sequence[str], *, source: str | None, target: str
    ) -> list[Translated]:
        """One result per text, in order."""
        ...

    async def aclose(self) -> None: ...
