"""Crisis-phrase matching: any shipped language's list, since students write in any language."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def is_urgent(text: str, phrases: Mapping[str, Iterable[str]]) -> bool:
    """True when the text contains a phrase from any language's list."""
    haystack = normalize(text)
    return any(normalize(p) in haystack for lst in phrases.values() for p in lst if p.strip())
