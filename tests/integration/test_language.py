"""A student's language: guessed from the platform, confirmed, changed with /language."""

from __future__ import annotations

import pytest

from bot.i18n import SHIPPED_LOCALES, display_name, translator
from handlers import admin
from tests.harness import Harness


async def test_unknown_tag_opens_the_picker_with_the_default_first(harness: Harness) -> None:
    counselor = await harness.counselor()
    code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="A")
    replies = await harness.say("s1", f"/start {code}", locale_hint="pt-br")
    picker = replies[-1]
    assert picker.buttons[0].data == "lang:en"  # FURIKAERI_DEFAULT_LOCALE
    assert {b.data for b in picker.buttons} == {f"lang:{code}" for code in SHIPPED_LOCALES}
    await harness.press("s1", display_name("vi"))
    assert harness.texts("s1")[-1].startswith(
        translator("vi")._("Before we start, please read this.")
    )


async def test_guessed_language_is_confirmed_and_can_be_changed(harness: Harness) -> None:
    counselor = await harness.counselor()
    code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="A")
    replies = await harness.say("s1", f"/start {code}", locale_hint="zh-TW")
    t = translator("zh_Hant")
    assert replies[-1].text == t._("Hello! I will write to you in English.")
    assert "用繁體中文" in replies[-1].text  # the language named as a sentence names it
    await harness.press("s1", t._("Continue"))
    await harness.press("s1", t._("I agree"))
    await harness.say("s1", "/language")
    await harness.press("s1", display_name("ne"))
    assert harness.texts("s1")[-1] == translator("ne")._("I will write to you in English.")
    assert "नेपालीमा" in harness.texts("s1")[-1]


@pytest.mark.parametrize(
    ("locale", "in_a_sentence"),
    [
        ("vi", "bằng tiếng Việt"),
        ("zh_Hans", "用简体中文"),
        ("id", "dalam bahasa Indonesia"),
        ("mn", "монгол хэлээр"),
        ("ja", "日本語で"),
    ],
)
def test_each_language_names_itself_inside_a_sentence(locale: str, in_a_sentence: str) -> None:
    text = translator(locale)._("I will write to you in English.")
    assert in_a_sentence in text
    assert display_name(locale) not in text or locale in ("ja", "zh_Hans")  # not the list name


async def test_the_picker_shows_each_language_as_its_speakers_name_it(harness: Harness) -> None:
    counselor = await harness.counselor()
    code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="A")
    picker = (await harness.say("s1", f"/start {code}", locale_hint="pt-br"))[-1]
    labels = {b.data: b.label for b in picker.buttons}
    assert labels["lang:id"] == "Bahasa Indonesia"
    assert labels["lang:zh_Hans"] == "简体中文" and labels["lang:zh_Hant"] == "繁體中文"
    assert not [label for label in labels.values() if "(" in label]
