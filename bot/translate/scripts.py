"""Which writing system a text is in, to notice an answer not in the student's language.

Only a clear case counts: enough letters, most of them in one script, and that script not
one the student's locale is written in (a Nepali student answering in English, a Chinese
student answering in Japanese). Latin-script languages cannot be told apart this way
(Vietnamese, Indonesian, English), so for them the student's locale stands.
"""

from __future__ import annotations

from collections import Counter

# (first, last code point, script); Latin covers the accented letters Vietnamese uses.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "Latn"),
    (0x1E00, 0x1EFF, "Latn"),
    (0x0400, 0x04FF, "Cyrl"),
    (0x0900, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x0D80, 0x0DFF, "Sinh"),
    (0x1000, 0x109F, "Mymr"),
    (0xA9E0, 0xA9FF, "Mymr"),
    (0xAA60, 0xAA7F, "Mymr"),
    (0x1100, 0x11FF, "Hang"),
    (0x3130, 0x318F, "Hang"),
    (0xAC00, 0xD7AF, "Hang"),
    (0x3040, 0x30FF, "Kana"),
    (0x31F0, 0x31FF, "Kana"),
    (0xFF66, 0xFF9F, "Kana"),
    (0x3400, 0x4DBF, "Hani"),
    (0x4E00, 0x9FFF, "Hani"),
    (0xF900, 0xFAFF, "Hani"),
)

LOCALE_SCRIPTS: dict[str, frozenset[str]] = {
    "ja": frozenset({"Jpan", "Hani", "Kana"}),
    "en": frozenset({"Latn"}),
    "zh_Hans": frozenset({"Hani"}),
    "zh_Hant": frozenset({"Hani"}),
    "ne": frozenset({"Deva"}),
    "vi": frozenset({"Latn"}),
    "my": frozenset({"Mymr"}),
    "ko": frozenset({"Hang", "Hani"}),
    "si": frozenset({"Sinh"}),
    "id": frozenset({"Latn"}),
    "bn": frozenset({"Beng"}),
    "mn": frozenset({"Cyrl"}),
}

MIN_LETTERS = 4
CLEAR_SHARE = 0.6  # the main script's share of the letters for the text to count as in it
KANA_SHARE = 0.15  # kana among Han + kana that makes Han + kana read as Japanese


def _script(char: str) -> str | None:
    if not char.isalpha():  # digits, punctuation, emoji, vowel signs: no vote
        return None
    point = ord(char)
    for first, last, script in _RANGES:
        if first <= point <= last:
            return script
    return None


def main_script(text: str) -> str | None:
    """The script most of the letters are in ("Jpan" for Japanese), or None if unclear."""
    counts = Counter(s for s in map(_script, text) if s is not None)
    han, kana = counts.pop("Hani", 0), counts.pop("Kana", 0)
    if han + kana:
        counts["Jpan" if kana >= KANA_SHARE * (han + kana) else "Hani"] = han + kana
    total = sum(counts.values())
    if total < MIN_LETTERS:
        return None
    script, count = counts.most_common(1)[0]
    return script if count >= CLEAR_SHARE * total else None


def clearly_not_in(text: str, locale: str) -> bool:
    """True when the text is clearly written in a script the locale does not use."""
    script = main_script(text)
    return script is not None and script not in LOCALE_SCRIPTS.get(locale, frozenset({script}))
