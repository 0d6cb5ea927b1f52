"""LibreTranslate (open source, self-hostable) over its HTTP API, with httpx.

POST /translate {q: [texts], source, target, format: "text", api_key?} returns
{translatedText: [...], detectedLanguage: [...] (when source is "auto")}; GET /languages
lists each language with the targets it translates into. Errors are {error: "..."} with
400 (bad request), 403 (bad or missing key), 429 (slow down) or 500.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from bot.translate.languages import LIBRETRANSLATE, locale_of, pick
from bot.translate.port import Translated, TranslatorRejected, TranslatorUnavailable

LANGUAGES_TTL = 3600.0  # seconds a /languages answer is trusted; new models appear rarely


class LibreTranslate:
    name = "LibreTranslate"

    def __init__(self, *, url: str, api_key: str | None = None, timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._targets: dict[str, set[str]] = {}  # source code -> target codes
        self._fetched_at = float("-inf")

    async def supports(self, source: str | None, target: str) -> bool:
        targets = await self._languages()
        target_code = pick(target, LIBRETRANSLATE, {t for ts in targets.values() for t in ts})
        if target_code is None:
            return False
        if source is None:
            return True
        source_code = pick(source, LIBRETRANSLATE, targets)
        return source_code is not None and target_code in targets[source_code]

    async def translate(
        self, texts: Sequence[str], *, source: str | None, target: str
    ) -> list[Translated]:
        targets = await self._languages()
        all_targets = {t for ts in targets.values() for t in ts}
        target_code = pick(target, LIBRETRANSLATE, all_targets)
        source_code = "auto" if source is None else pick(source, LIBRETRANSLATE, targets)
        if target_code is None or source_code is None:
            raise TranslatorRejected("language not offered")
        body: dict[str, Any] = {
            "q": list(texts),
            "source": source_code,
            "target": target_code,
            "format": "text",
        }
        if self.api_key:
            body["api_key"] = self.api_key
        data = await self._call("POST", "/translate", json=body)
        translated = data.get("translatedText") if isinstance(data, dict) else None
        if not isinstance(translated, list) or len(translated) != len(texts):
            raise TranslatorUnavailable("unexpected answer")
        detected = data.get("detectedLanguage")
        found: list[str | None] = [source] * len(texts)
        if source is None and isinstance(detected, list) and len(detected) == len(texts):
            found = [
                locale_of(str(d.get("language")), LIBRETRANSLATE)
                if isinstance(d, dict) and d.get("language")
                else None
                for d in detected
            ]
        return [Translated(str(text), lang) for text, lang in zip(translated, found, strict=True)]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _languages(self) -> dict[str, set[str]]:
        if time.monotonic() - self._fetched_at < LANGUAGES_TTL and self._targets:
            return self._targets
        data = await self._call("GET", "/languages")
        if not isinstance(data, list):
            raise TranslatorUnavailable("unexpected answer")
        self._targets = {
            str(entry["code"]): {str(t) for t in entry.get("targets") or ()}
            for entry in data
            if isinstance(entry, dict) and entry.get("code")
        }
        self._fetched_at = time.monotonic()
        return self._targets

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.url, timeout=self.timeout)
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:  # connection refused, timeouts, broken answers
            raise TranslatorUnavailable(type(exc).__name__) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise TranslatorUnavailable("busy or failing", status=status)
        if status >= 400:
            raise TranslatorRejected("refused", status=status)
        try:
            return response.json()
        except ValueError:
            raise TranslatorUnavailable("not JSON", status=status) from None
