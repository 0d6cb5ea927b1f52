"""A student's language: guessed from the platform, confirmed, changed with /language."""

from __future__ import annotations

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
    assert replies[-1].text == t._("Hello! I will write to you in {language}.",
                                          language=display_name("zh_Hant"))  # fmt: skip
    await harness.press("s1", t._("Continue"))
    await harness.press("s1", t._("I agree"))
    await harness.say("s1", "/language")
    await harness.press("s1", display_name("ne"))
    assert harness.texts("s1")[-1] == translator("ne")._(
        "I will write to you in {language}.", language=display_name("ne")
    )
