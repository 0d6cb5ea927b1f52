"""Every shipped catalog is complete, consistent with the code, and fits the channels."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import SHIPPED_LOCALES, catalog_path, placeholders, translator

ROOT = Path(__file__).resolve().parents[2]
LINE_LABEL_LIMIT = 20
BUTTON_LABELS = {
    "Continue",
    "Other language",
    "I agree",
    "No, thanks",
    "Yes",
    "No",
    "Skip",
    "Done",
    "Delete everything",
    "Cancel",
}
# Punctuation only: many languages keep it as in English; ja, zh and my change it.
SAME_AS_ENGLISH: set[str] = {", ", "{label}: {answer}", "{name}: {phone} ({hours})"}


@cache
def source_messages() -> dict[str, list[str]]:
    """msgid -> translator comments, extracted from code and prompts as `make catalogs` does."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, list[str]] = {}
    for _file, _line, message, comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, []).extend(comments)
    return found


@cache
def load(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def is_button_label(msgid: str) -> bool:
    comments = " ".join(source_messages().get(msgid, []))
    return msgid in BUTTON_LABELS or "button label" in comments or "20 characters" in comments


def test_extraction_finds_code_and_prompt_strings() -> None:
    messages = source_messages()
    assert "Which language do you want to use?" in messages  # from handlers/
    assert "Which information from today's session was most useful to you?" in messages
    assert "Yes, I'd like to" in messages  # a yes/no question's own answers


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_catalog_is_complete_and_consistent(locale: str) -> None:
    catalog = load(locale)
    problems = []
    for msgid in source_messages():
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = placeholders(ids[0])
        for text in strings:
            if placeholders(text) != wanted:
                problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
            if locale != "en" and text == ids[0] and msgid not in SAME_AS_ENGLISH:
                problems.append(f"left in English: {msgid!r}")
            if is_button_label(msgid) and len(text) > LINE_LABEL_LIMIT:
                problems.append(f"button label over {LINE_LABEL_LIMIT} characters: {text!r}")
    assert not problems, f"{locale}: " + "\n".join(problems[:40])


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_catalog_header_says_whether_a_native_speaker_reviewed_it(locale: str) -> None:
    header = catalog_path(locale).read_text(encoding="utf-8").split("msgid", 1)[0]
    assert re.search(r"^# Native review: (yes|no)\b", header, re.MULTILINE), header


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_plural_forms_are_filled_for_the_language(locale: str) -> None:
    t = translator(locale)
    for n in (0, 1, 2, 5, 11, 21):
        text = t.ngettext("I keep {n} answer of yours.", "I keep {n} answers of yours.", n)
        assert str(n) in text


def test_a_missing_string_fails_loudly_in_strict_mode() -> None:
    from bot.i18n import MissingTranslation

    with pytest.raises(MissingTranslation):
        translator("ja")._("A sentence that no catalog has.")
