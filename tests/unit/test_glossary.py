"""One term per concept in each catalog, as the glossary in docs/translating.md lists them;
and the punctuation conventions of ja and zh."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n import SHIPPED_LOCALES, catalog_path

DOC = Path(__file__).resolve().parents[2] / "docs" / "translating.md"
CONCEPTS = {
    "counselor": r"\bcounselors?\b",
    "session": r"\bsessions?\b",
    "reflection": r"\breflections?\b",
    "follow-up": r"\bfollow-ups?\b",
    "digest": r"\bdigests?\b",
}
COMMAND = re.compile(r"/[a-z]+")


@cache
def glossary() -> dict[str, dict[str, list[str]]]:
    """locale -> concept -> accepted spellings, from the table under "## Glossary"."""
    section = DOC.read_text(encoding="utf-8").split("## Glossary", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table: dict[str, dict[str, list[str]]] = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        locale, terms = cells[0], cells[1:]
        table[locale] = {
            concept: [t.strip() for t in term.split(" / ")]
            for concept, term in zip(header[1:], terms, strict=True)
        }
    return table


@cache
def load(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def test_the_glossary_covers_every_language_and_concept() -> None:
    assert set(glossary()) == set(SHIPPED_LOCALES)
    for locale, terms in glossary().items():
        assert set(terms) == set(CONCEPTS), locale
        assert all(all(spellings) for spellings in terms.values()), locale


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_each_catalog_uses_its_glossary_terms(locale: str) -> None:
    terms = glossary()[locale]
    problems = []
    for message in load(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        source = COMMAND.sub("", ids[0])
        for concept, pattern in CONCEPTS.items():
            if not re.search(pattern, source, re.IGNORECASE):
                continue
            for text in strings:
                if not any(term.casefold() in text.casefold() for term in terms[concept]):
                    problems.append(f"{concept} ({' / '.join(terms[concept])}): {text!r}")
    assert not problems, f"{locale}:\n" + "\n".join(problems)


def test_the_check_notices_a_second_term() -> None:
    """The test above would fail on a catalog that says the concept another way."""
    terms = glossary()["ja"]["counselor"]
    assert not any(term in "相談員に新しいコードをもらってください。" for term in terms)
    assert any(term in "カウンセラーに新しいコードをもらってください。" for term in terms)


@pytest.mark.parametrize("locale", ["ja", "zh_Hans", "zh_Hant"])
def test_japanese_and_chinese_use_their_own_punctuation(locale: str) -> None:
    catalog = load(locale)
    assert catalog[", "].string == "、"
    assert catalog["{label}: {answer}"].string == "{label}：{answer}"
    assert catalog["{name}: {phone} ({hours})"].string == "{name}：{phone}（{hours}）"
    assert catalog["1 = {low}, 5 = {high}"].string.count("＝") == 2
