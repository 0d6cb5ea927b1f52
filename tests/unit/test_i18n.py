"""Locale negotiation from real platform tags, language names, dates in the reader's zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import SHIPPED_LOCALES, display_name, negotiate, translator


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        # Telegram language_code values
        ("ja", "ja"), ("en", "en"), ("vi", "vi"), ("ne", "ne"), ("my", "my"), ("ko", "ko"),
        ("zh-hans", "zh_Hans"), ("zh-hant", "zh_Hant"), ("zh-TW", "zh_Hant"), ("zh-HK", "zh_Hant"),
        ("zh", "zh_Hans"), ("zh-CN", "zh_Hans"), ("zh-SG", "zh_Hans"), ("en-US", "en"),
        ("pt-br", None), ("ru", None), ("", None), (None, None),
        # LINE profile languages
        ("zh-Hant", "zh_Hant"), ("zh-Hans", "zh_Hans"), ("id", "id"), ("th", None),
        ("si", "si"), ("bn", "bn"), ("mn", "mn"), ("si_LK", "si"),
    ],
)  # fmt: skip
def test_platform_tags_map_to_shipped_catalogs(tag: str | None, locale: str | None) -> None:
    assert negotiate(tag) == locale


def test_every_language_has_its_own_name() -> None:
    names = {code: display_name(code) for code in SHIPPED_LOCALES}
    assert names["ja"] == "日本語"
    assert names["vi"] == "Tiếng Việt"
    assert names["ne"] == "नेपाली"
    assert names["my"] == "မြန်မာ"
    assert names["si"] == "සිංහල"
    assert names["bn"] == "বাংলা"
    assert names["mn"] == "Монгол"
    assert names["zh_Hans"] != names["zh_Hant"]
    assert all(len(name) <= 20 for name in names.values())  # they are LINE button labels


def test_dates_are_in_the_readers_language_and_time_zone() -> None:
    moment = datetime(2026, 4, 6, 15, 30, tzinfo=UTC)
    assert "2026" in translator("ja").datetime(moment, "Asia/Tokyo")
    assert "0:30" in translator("ja").datetime(moment, "Asia/Tokyo")  # 00:30 next day in Tokyo
    assert translator("en").date(moment, "Asia/Kathmandu") == "2026-04-06"
    assert translator("en").date(moment, "Asia/Tokyo") == "2026-04-07"
