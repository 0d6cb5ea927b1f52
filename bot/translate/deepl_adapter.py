"""DeepL through the official `deepl` package (synchronous; run in a worker thread).

DeepL is an outside processor: answers leave the university (docs/privacy.md). The package
retries 429 and 5xx itself, sleeping in its thread; furikaeri's queue already retries with
backoff, so the package makes one attempt per call (`max_network_retries`, a documented
module setting) with our timeout (`min_connection_timeout`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import deepl

from bot.translate.languages import DEEPL_SOURCE, DEEPL_TARGET, locale_of, pick
from bot.translate.port import Translated, TranslatorRejected, TranslatorUnavailable

LANGUAGES_TTL = 3600.0


class DeepL:
    name = "DeepL"

    def __init__(self, *, auth_key: str, server_url: str | None = None, timeout: float = 20.0):
        deepl.http_client.max_network_retries = 0
        deepl.http_client.min_connection_timeout = timeout
        # No platform details in the User-Agent: DeepL learns nothing it does not need.
        self._client = deepl.DeepLClient(auth_key, server_url=server_url, send_platform_info=False)
        self._sources: set[str] = set()
        self._targets: set[str] = set()
        self._fetched_at = float("-inf")
        self.timeout = timeout

    async def supports(self, source: str | None, target: str) -> bool:
        sources, targets = await self._languages()
        if pick(target, DEEPL_TARGET, targets) is None:
            return False
        return source is None or pick(source, DEEPL_SOURCE, sources) is not None

    async def translate(
        self, texts: Sequence[str], *, source: str | None, target: str
    ) -> list[Translated]:
        sources, targets = await self._languages()
        target_code = pick(target, DEEPL_TARGET, targets)
        source_code = None if source is None else pick(source, DEEPL_SOURCE, sources)
        if target_code is None or (source is not None and source_code is None):
            raise TranslatorRejected("language not offered")
        results = await self._run(
            self._client.translate_text,
            list(texts),
            source_lang=source_code,
            target_lang=target_code,
        )
        if not isinstance(results, list) or len(results) != len(texts):
            raise TranslatorUnavailable("unexpected answer")
        return [
            Translated(
                r.text,
                source
                if source is not None
                else (
                    locale_of(r.detected_source_lang, DEEPL_SOURCE)
                    if r.detected_source_lang
                    else None
                ),
            )
            for r in results
        ]

    async def aclose(self) -> None:
        self._client.close()

    async def _languages(self) -> tuple[set[str], set[str]]:
        if time.monotonic() - self._fetched_at < LANGUAGES_TTL and self._targets:
            return self._sources, self._targets
        sources = await self._run(self._client.get_source_languages)
        targets = await self._run(self._client.get_target_languages)
        self._sources = {language.code for language in sources}
        self._targets = {language.code for language in targets}
        self._fetched_at = time.monotonic()
        return self._sources, self._targets

    async def _run(self, call, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Call the package in a thread; map its errors, keeping their messages out (a
        message can quote the service's answer)."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except deepl.DeepLException as exc:
            status = exc.http_status_code
            if exc.should_retry or isinstance(exc, deepl.TooManyRequestsException):
                raise TranslatorUnavailable(type(exc).__name__, status=status) from None
            if status is not None and (status == 429 or status >= 500):
                raise TranslatorUnavailable(type(exc).__name__, status=status) from None
            raise TranslatorRejected(type(exc).__name__, status=status) from None
