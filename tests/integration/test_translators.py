"""The translator adapters over real HTTP: LibreTranslate with httpx, DeepL with the
official `deepl` package, each against its fake on 127.0.0.1 (errors and slowness too)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bot.translate.deepl_adapter import DeepL
from bot.translate.libretranslate import LibreTranslate
from bot.translate.port import Translated, TranslatorRejected, TranslatorUnavailable
from tests.fakes.deepl_api import FakeDeepL
from tests.fakes.libretranslate_api import FakeLibreTranslate
from tests.fakes.server import LocalServer, Swappable, free_port
from tests.fakes.translation_fixtures import DEEPL_KEY, LIBRE_KEY

# Timeouts of the adapters under test: roomy where an answer is expected (a busy CI machine
# once took over 0.5 s), short where the point is that a slow server is given up on.
ROOMY = 10.0
SHORT = 1.5
SLOW = 5.0  # seconds the fake holds an answer in the timeout tests


@pytest.fixture
async def lt(
    libre: FakeLibreTranslate, libretranslate_server: tuple[LocalServer, Swappable]
) -> AsyncIterator[LibreTranslate]:
    adapter = LibreTranslate(url=libretranslate_server[0].url, api_key=LIBRE_KEY, timeout=ROOMY)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def dl(
    deepl_fake: FakeDeepL, deepl_server: tuple[LocalServer, Swappable]
) -> AsyncIterator[DeepL]:
    adapter = DeepL(auth_key=DEEPL_KEY, server_url=deepl_server[0].url, timeout=ROOMY)
    yield adapter
    await adapter.aclose()


# -- LibreTranslate ---------------------------------------------------------------------


async def test_libretranslate_translates_a_batch_in_order(
    lt: LibreTranslate, libre: FakeLibreTranslate
) -> None:
    libre.phrases["Tôi muốn làm việc ở Nhật."] = "日本で働きたいです。"
    result = await lt.translate(["Tôi muốn làm việc ở Nhật.", "Cảm ơn"], source="vi", target="ja")
    assert result == [Translated("日本で働きたいです。", "vi"), Translated("[ja] Cảm ơn", "vi")]
    [call] = libre.calls("/translate")
    assert call.body == {
        "q": ["Tôi muốn làm việc ở Nhật.", "Cảm ơn"],
        "source": "vi",
        "target": "ja",
        "format": "text",
        "api_key": LIBRE_KEY,
    }


async def test_libretranslate_knows_its_pairs_and_chinese_scripts(
    lt: LibreTranslate, libre: FakeLibreTranslate
) -> None:
    assert await lt.supports("vi", "ja") and await lt.supports(None, "ja")
    assert not await lt.supports("ne", "ja")  # no Nepali model installed
    assert not await lt.supports("vi", "mn")
    await lt.translate(["你好"], source="zh_Hant", target="zh_Hans")
    call = libre.calls("/translate")[-1]
    assert (call.body["source"], call.body["target"]) == ("zh-Hant", "zh-Hans")
    assert len(libre.calls("/languages")) == 1  # the list is fetched once, then trusted


async def test_libretranslate_on_an_older_server_uses_zh_and_zt(
    libre: FakeLibreTranslate, libretranslate_server: tuple[LocalServer, Swappable]
) -> None:
    libre.codes = ("en", "ja", "zh", "zt")
    adapter = LibreTranslate(url=libretranslate_server[0].url, api_key=LIBRE_KEY)
    try:
        await adapter.translate(["你好"], source="zh_Hans", target="ja")
        await adapter.translate(["日本"], source="ja", target="zh_Hant")
    finally:
        await adapter.aclose()
    pairs = [(c.body["source"], c.body["target"]) for c in libre.calls("/translate")]
    assert pairs == [("zh", "ja"), ("ja", "zt")]


async def test_libretranslate_detects_the_language_when_asked(
    lt: LibreTranslate, libre: FakeLibreTranslate
) -> None:
    libre.detected.update({"I want to work in Japan": "en", "你好世界": "zh-Hans"})
    result = await lt.translate(["I want to work in Japan", "你好世界"], source=None, target="ja")
    assert [r.source for r in result] == ["en", "zh_Hans"]
    assert libre.calls("/translate")[-1].body["source"] == "auto"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_libretranslate_busy_or_failing_is_unavailable(
    lt: LibreTranslate, libre: FakeLibreTranslate, status: int
) -> None:
    await lt.supports("vi", "ja")
    libre.fail_next("/translate", status)
    with pytest.raises(TranslatorUnavailable) as error:
        await lt.translate(["Xin chào"], source="vi", target="ja")
    assert error.value.status == status
    assert await lt.translate(["Xin chào"], source="vi", target="ja")  # and then it works


async def test_libretranslate_a_wrong_key_is_refused(
    libre: FakeLibreTranslate, libretranslate_server: tuple[LocalServer, Swappable]
) -> None:
    adapter = LibreTranslate(url=libretranslate_server[0].url, api_key="wrong-key-1234")
    try:
        with pytest.raises(TranslatorRejected) as error:
            await adapter.translate(["Xin chào"], source="vi", target="ja")
    finally:
        await adapter.aclose()
    assert error.value.status == 403


async def test_libretranslate_a_slow_answer_times_out(
    libre: FakeLibreTranslate, libretranslate_server: tuple[LocalServer, Swappable]
) -> None:
    lt = LibreTranslate(url=libretranslate_server[0].url, api_key=LIBRE_KEY, timeout=SHORT)
    try:
        await lt.supports("vi", "ja")
        libre.delay_next("/translate", SLOW)
        started = time.monotonic()
        with pytest.raises(TranslatorUnavailable):
            await lt.translate(["Xin chào"], source="vi", target="ja")
    finally:
        await lt.aclose()
    assert time.monotonic() - started < SLOW - 1  # the adapter's timeout, not the server's


async def test_libretranslate_nobody_listening_is_unavailable() -> None:
    adapter = LibreTranslate(url=f"http://127.0.0.1:{free_port()}", timeout=0.5)
    try:
        with pytest.raises(TranslatorUnavailable):
            await adapter.supports("vi", "ja")
    finally:
        await adapter.aclose()


# -- DeepL --------------------------------------------------------------------------------


async def test_deepl_sends_what_the_official_package_sends(
    dl: DeepL, deepl_fake: FakeDeepL
) -> None:
    deepl_fake.phrases["Tôi muốn làm việc ở Nhật."] = "日本で働きたいです。"
    result = await dl.translate(["Tôi muốn làm việc ở Nhật.", "Cảm ơn"], source="vi", target="ja")
    assert result == [Translated("日本で働きたいです。", "vi"), Translated("[JA] Cảm ơn", "vi")]
    [call] = deepl_fake.calls("/v2/translate")
    assert call.headers["authorization"] == f"DeepL-Auth-Key {DEEPL_KEY}"
    assert call.body["text"] == ["Tôi muốn làm việc ở Nhật.", "Cảm ơn"]
    assert (call.body["source_lang"], call.body["target_lang"]) == ("VI", "JA")
    assert call.headers["user-agent"].startswith("deepl-python/")
    assert " python/" not in call.headers["user-agent"]  # no platform details sent


async def test_deepl_language_codes(dl: DeepL, deepl_fake: FakeDeepL) -> None:
    await dl.translate(["Xin chào"], source="vi", target="en")
    await dl.translate(["안녕"], source="ko", target="zh_Hant")
    await dl.translate(["你好"], source="zh_Hans", target="zh_Hant")
    sent = [
        (c.body.get("source_lang"), c.body["target_lang"])
        for c in deepl_fake.calls("/v2/translate")
    ]
    assert sent == [("VI", "EN-US"), ("KO", "ZH-HANT"), ("ZH", "ZH-HANT")]
    assert await dl.supports("ja", "zh_Hans")
    for locale in ("ne", "my", "si", "bn", "mn"):
        assert not await dl.supports(locale, "ja"), locale
        assert not await dl.supports("ja", locale), locale


async def test_deepl_detects_the_language_when_asked(dl: DeepL, deepl_fake: FakeDeepL) -> None:
    deepl_fake.detected["Hello"] = "EN"
    [result] = await dl.translate(["Hello"], source=None, target="ja")
    assert result.source == "en"
    assert "source_lang" not in deepl_fake.calls("/v2/translate")[-1].body


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_deepl_busy_or_failing_is_unavailable_after_one_try(
    dl: DeepL, deepl_fake: FakeDeepL, status: int
) -> None:
    await dl.supports("vi", "ja")
    deepl_fake.fail_next("/v2/translate", status, retry_after=1)
    started = time.monotonic()
    with pytest.raises(TranslatorUnavailable):
        await dl.translate(["Xin chào"], source="vi", target="ja")
    # One request, no sleeping retries inside the package: our queue retries with backoff.
    assert len(deepl_fake.calls("/v2/translate")) == 1
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("status", [403, 456])
async def test_deepl_a_bad_key_or_used_up_quota_is_refused(
    dl: DeepL, deepl_fake: FakeDeepL, status: int
) -> None:
    await dl.supports("vi", "ja")
    deepl_fake.fail_next("/v2/translate", status)
    with pytest.raises(TranslatorRejected) as error:
        await dl.translate(["Xin chào"], source="vi", target="ja")
    assert error.value.status == status


async def test_deepl_a_slow_answer_times_out(
    deepl_fake: FakeDeepL, deepl_server: tuple[LocalServer, Swappable]
) -> None:
    dl = DeepL(auth_key=DEEPL_KEY, server_url=deepl_server[0].url, timeout=SHORT)
    try:
        await dl.supports("vi", "ja")
        deepl_fake.delay_next("/v2/translate", SLOW)
        with pytest.raises(TranslatorUnavailable):
            await dl.translate(["Xin chào"], source="vi", target="ja")
    finally:
        await dl.aclose()


async def test_deepl_nobody_listening_is_unavailable() -> None:
    adapter = DeepL(auth_key=DEEPL_KEY, server_url=f"http://127.0.0.1:{free_port()}", timeout=0.5)
    with pytest.raises(TranslatorUnavailable):
        await adapter.supports("vi", "ja")
