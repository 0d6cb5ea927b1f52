"""Our locales in each service's language codes, and back.

Each locale has a list of candidate codes, best first: a service names the languages it
has at run time (GET /languages), and the first candidate it lists is used. That copes
with LibreTranslate's older "zh"/"zt" and newer "zh-Hans"/"zh-Hant", and with DeepL adding
languages over time, without a release of furikaeri.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

# LibreTranslate (Argos) codes; the same list for source and target.
LIBRETRANSLATE: Mapping[str, tuple[str, ...]] = {
    "ja": ("ja",),
    "en": ("en",),
    "zh_Hans": ("zh-Hans", "zh"),
    "zh_Hant": ("zh-Hant", "zt"),
    "ne": ("ne",),
    "vi": ("vi",),
    "my": ("my",),
    "ko": ("ko",),
    "si": ("si",),
    "id": ("id",),
    "bn": ("bn",),
    "mn": ("mn",),
}

# DeepL distinguishes source codes ("ZH", "EN") from target codes ("ZH-HANS", "EN-US").
DEEPL_SOURCE: Mapping[str, tuple[str, ...]] = {
    "ja": ("JA",),
    "en": ("EN",),
    "zh_Hans": ("ZH",),
    "zh_Hant": ("ZH",),
    "ne": ("NE",),
    "vi": ("VI",),
    "my": ("MY",),
    "ko": ("KO",),
    "si": ("SI",),
    "id": ("ID",),
    "bn": ("BN",),
    "mn": ("MN",),
}
DEEPL_TARGET: Mapping[str, tuple[str, ...]] = {
    **DEEPL_SOURCE,
    "en": ("EN-US", "EN-GB"),
    "zh_Hans": ("ZH-HANS", "ZH"),
    "zh_Hant": ("ZH-HANT",),
}


def pick(locale: str, table: Mapping[str, tuple[str, ...]], offered: Collection[str]) -> str | None:
    """The first of the locale's codes that the service offers (compared case-insensitively)."""
    by_upper = {code.upper(): code for code in offered}
    for candidate in table.get(locale, ()):
        if candidate.upper() in by_upper:
            return by_upper[candidate.upper()]
    return None


def locale_of(code: str, table: Mapping[str, tuple[str, ...]]) -> str:
    """Our locale for a service's code where exactly one fits; else the code, lower-case."""
    matches = [
        locale for locale, codes in table.items() if code.upper() in (c.upper() for c in codes)
    ]
    return matches[0] if len(matches) == 1 else code.lower()
