"""Which answers go to the translator with which source language, and the services' codes."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.translate.languages import DEEPL_SOURCE, DEEPL_TARGET, LIBRETRANSLATE, locale_of, pick
from bot.translate.queue import AUTO, source_language
from bot.translate.scripts import LOCALE_SCRIPTS, main_script


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("Tôi muốn làm việc ở Nhật.", "Latn"),
        ("日本で働きたいです", "Jpan"),
        ("日本語能力試験", "Hani"),  # all Han: Japanese or Chinese, cannot tell
        ("我想在日本工作", "Hani"),
        ("मलाई जापानमा काम गर्न मन छ", "Deva"),
        ("한국어로 답합니다", "Hang"),
        ("ငါ ဂျပန်မှာ အလုပ်လုပ်ချင်တယ်", "Mymr"),
        ("මම ජපානයේ වැඩ කරන්න කැමතියි", "Sinh"),
        ("আমি জাপানে কাজ করতে চাই", "Beng"),
        ("Би Японд ажиллах дуртай", "Cyrl"),
        ("ok", None),  # too short to tell
        ("123 456 !!! 🙂🙂🙂", None),  # no letters
        ("SPI テスト test テスト", None),  # mixed half and half: not clear
    ],
)
def test_the_main_script_of_a_text(text: str, script: str | None) -> None:
    assert main_script(text) == script


@pytest.mark.parametrize(
    ("text", "locale", "source"),
    [
        ("Tôi muốn làm việc ở Nhật.", "vi", "vi"),
        ("I want to work in Japan", "vi", "vi"),  # Latin either way: the locale stands
        ("I want to work in Japan", "ne", AUTO),  # English from a Nepali student
        ("日本で働きたいです", "zh_Hans", AUTO),  # Japanese from a Chinese student
        ("我想在日本工作", "ja", "ja"),  # Han fits Japanese too
        ("日本で働きたいです。SPIの勉強をします。", "ja", "ja"),
        ("ok", "mn", "mn"),
    ],
)
def test_the_source_language_is_the_students_unless_the_script_clearly_differs(
    text: str, locale: str, source: str
) -> None:
    assert source_language(text, locale) == source


def test_every_locale_has_codes_and_scripts() -> None:
    from bot.i18n import SHIPPED_LOCALES

    for table in (LIBRETRANSLATE, DEEPL_SOURCE, DEEPL_TARGET, LOCALE_SCRIPTS):
        assert set(table) == set(SHIPPED_LOCALES)


def test_codes_are_picked_from_what_the_service_offers() -> None:
    assert pick("zh_Hans", LIBRETRANSLATE, {"en", "zh-Hans", "zh"}) == "zh-Hans"
    assert pick("zh_Hans", LIBRETRANSLATE, {"en", "zh"}) == "zh"
    assert pick("zh_Hant", LIBRETRANSLATE, {"en", "zh", "zt"}) == "zt"
    assert pick("en", DEEPL_TARGET, {"EN-GB", "EN-US"}) == "EN-US"
    assert pick("zh_Hant", DEEPL_TARGET, {"zh-hant"}) == "zh-hant"  # as the service spells it
    assert pick("ne", DEEPL_TARGET, {"JA", "EN-US"}) is None
    assert locale_of("ZH", DEEPL_SOURCE) == "zh"  # simplified or traditional: cannot tell
    assert locale_of("zh-Hans", LIBRETRANSLATE) == "zh_Hans"
    assert locale_of("fr", LIBRETRANSLATE) == "fr"


def test_translator_settings() -> None:
    off = load_settings(_env_file=None)
    assert off.translator == "none"
    on = load_settings(
        _env_file=None, translator="LibreTranslate", libretranslate_url="http://mt.local:5000/"
    )
    assert (on.translator, on.libretranslate_url) == ("libretranslate", "http://mt.local:5000")
    with pytest.raises(ConfigError, match="FURIKAERI_DEEPL_AUTH_KEY"):
        load_settings(_env_file=None, translator="deepl")
    with pytest.raises(ConfigError, match="FURIKAERI_TRANSLATOR"):
        load_settings(_env_file=None, translator="google")
