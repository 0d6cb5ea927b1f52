"""Crisis-phrase matching: the one place that decides whether a message suggests danger.

Students write in any language, on a phone, in a hurry: "toi muon chet" without the
Vietnamese marks, "ＳＵＩＣＩＤＥ" in full width, "死 に た い" with spaces, Burmese typed in
the Zawgyi font encoding. So the text and every phrase are normalised the same way first
(`normalize`), and a phrase is a small pattern (`compile_phrase`):

- A space in a phrase matches one space (or punctuation) in the text, or none.
- In scripts that put spaces between words (Latin, Cyrillic, Hangul, Devanagari, Bengali,
  Sinhala) a phrase matches whole words only: "ingin mati" does not match "ingin matikan".
  A `*` at the end (or start) of a phrase lets that word go on: "suicid*" matches
  "suicidal", "आत्महत्या*" matches "आत्महत्याको".
- Chinese, Japanese and Burmese have no spaces between words, so phrases in them match
  anywhere.
- `(a|b|c)` is a choice of words, `(a|)` an optional one:
  "(ga|gak|tidak) mau hidup lagi".

Exceptions (near misses such as Korean 자살골, "own goal", or Indonesian "mati-matian",
"all-out") cancel a phrase match that overlaps them. The stored text is never changed:
normalising is for matching only.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

# Letters of scripts that separate words with spaces: a phrase in them matches whole words.
_WORD_RANGES = (
    "0-9a-z"
    "\u00c0-\u024f"  # Latin with marks (the few that survive folding)
    "\u0400-\u04ff"  # Cyrillic (Mongolian)
    "\u0900-\u097f"  # Devanagari (Nepali), letters and vowel signs
    "\u0980-\u09ff"  # Bengali
    "\u0d80-\u0dff"  # Sinhala
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3"  # Hangul
)
_WORD_CHAR = re.compile(f"[{_WORD_RANGES}]")
_NOT_AFTER_WORD = f"(?<![{_WORD_RANGES}])"
_NOT_BEFORE_WORD = f"(?![{_WORD_RANGES}])"

# Scripts written without spaces between words: a space typed between two of their
# characters ("死 に た い", "သေ ချင်") is dropped before matching.
_UNSPACED = re.compile(
    r"(?<=[\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]) "
    r"(?=[\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])"
)
_LATIN_BASE = re.compile(r"[a-z]")
_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
_CHOICE = re.compile(r"\(([^()]*)\)")
MAX_EXPANSIONS = 512  # choices multiply; a phrase this big is a mistake
_MYANMAR = re.compile(r"[\u1000-\u109f]")
ZAWGYI_LIKELY = 0.5  # above this probability a Zawgyi-converted copy is matched as well


class PhraseError(ValueError):
    """A phrase cannot be used as a pattern."""


def normalize(text: str) -> str:
    """Fold text for matching: NFKC, case, katakana to hiragana, Latin accents and đ,
    punctuation and spacing."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_KATAKANA_TO_HIRAGANA)
    folded = _strip_latin_marks(folded).replace("đ", "d")
    out: list[str] = []
    for char in folded:
        category = unicodedata.category(char)
        if category == "Cf":  # zero-width joiners and the like: invisible, vary by keyboard
            continue
        if category[0] in "PZS" or category == "Cc":
            if out and out[-1] != " ":
                out.append(" ")
            continue
        out.append(char)
    return _UNSPACED.sub("", "".join(out).strip())


def _strip_latin_marks(text: str) -> str:
    """Drop combining marks on Latin letters only (Vietnamese, Indonesian): the vowel
    signs of Devanagari, Bengali, Sinhala, Burmese and the kana voicing marks stay."""
    decomposed = unicodedata.normalize("NFD", text)
    out: list[str] = []
    base_is_latin = False
    for char in decomposed:
        if unicodedata.combining(char):
            if base_is_latin:
                continue
        else:
            base_is_latin = bool(_LATIN_BASE.match(char))
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


@dataclass(frozen=True)
class Pattern:
    """One phrase as written in safety.yaml, and the regular expression it became."""

    phrase: str
    regex: re.Pattern[str]


def compile_phrase(phrase: str) -> Pattern:
    """Turn a phrase into a pattern; PhraseError when it has nothing to match or is malformed."""
    expansions = _expand(phrase.strip())
    return Pattern(phrase, re.compile("|".join(_plain_regex(text) for text in expansions)))


def _expand(phrase: str) -> list[str]:
    """Every plain phrase a phrase with (a|b) choices stands for."""
    if phrase.count("(") != phrase.count(")") or _CHOICE.sub("", phrase).count("|"):
        raise PhraseError("unbalanced ( ) or a | outside ( )")
    results = [""]
    position = 0
    for choice in _CHOICE.finditer(phrase):
        literal = phrase[position : choice.start()]
        options = choice.group(1).split("|")
        results = [done + literal + option for done in results for option in options]
        position = choice.end()
        if len(results) > MAX_EXPANSIONS:
            raise PhraseError(f"more than {MAX_EXPANSIONS} combinations; split the phrase")
    return [done + phrase[position:] for done in results]


def _plain_regex(phrase: str) -> str:
    raw = phrase.strip()
    open_start, open_end = raw.startswith("*"), raw.endswith("*")
    if "*" in raw.strip("*"):
        raise PhraseError("`*` is allowed only at the start or the end of a phrase")
    core = normalize(raw.strip("*"))
    if not core:
        raise PhraseError("nothing left to match after normalising (empty or punctuation)")
    body = " ?".join(re.escape(word) for word in core.split(" "))
    left = "" if open_start or not _WORD_CHAR.match(core[0]) else _NOT_AFTER_WORD
    right = "" if open_end or not _WORD_CHAR.match(core[-1]) else _NOT_BEFORE_WORD
    return f"(?:{left}{body}{right})"


class Matcher:
    """Crisis phrases of every language, and the near misses that cancel them."""

    def __init__(
        self,
        phrases: Mapping[str, Iterable[str]],
        exceptions: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.patterns = [compile_phrase(p) for entries in phrases.values() for p in entries]
        self.exceptions = [
            compile_phrase(p) for entries in (exceptions or {}).values() for p in entries
        ]
        # Every phrase at once, without the word-edge checks (they are what is slow): an
        # answer this finds nothing in (nearly every answer) has none of the phrases.
        self._any = re.compile(
            "|".join(
                p.regex.pattern.replace(_NOT_AFTER_WORD, "").replace(_NOT_BEFORE_WORD, "")
                for p in self.patterns
            )
            or "(?!)"
        )

    def match(self, text: str) -> str | None:
        """Return the first phrase (as written in safety.yaml) found in the text, or None."""
        for variant in _variants(text):
            if self._any.search(variant) is None:
                continue
            spared = [m.span() for e in self.exceptions for m in e.regex.finditer(variant)]
            for pattern in self.patterns:
                for found in pattern.regex.finditer(variant):
                    start, end = found.span()
                    if not any(s < end and start < e for s, e in spared):
                        return pattern.phrase
        return None


def _variants(text: str) -> list[str]:
    """The normalised text, plus a Unicode copy when it looks like Zawgyi-typed Burmese."""
    variants = [normalize(text)]
    if _MYANMAR.search(text) and _zawgyi_probability(text) > ZAWGYI_LIKELY:
        variants.append(normalize(_zawgyi_to_unicode(text)))
    return variants


def _zawgyi_probability(text: str) -> float:
    return float(_zawgyi_detector().get_zawgyi_probability(text))


def _zawgyi_to_unicode(text: str) -> str:
    return str(_zawgyi_transform().transliterate(text))


@cache
def _zawgyi_detector():  # type: ignore[no-untyped-def]
    """Google's Zawgyi detector (myanmartools), loaded once."""
    from myanmartools import ZawgyiDetector

    with warnings.catch_warnings():  # it loads its model with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        return ZawgyiDetector()


@cache
def _zawgyi_transform():  # type: ignore[no-untyped-def]
    """ICU's Zawgyi-my transform (the CLDR rules), loaded once."""
    import icu

    return icu.Transliterator.createInstance("Zawgyi-my")
