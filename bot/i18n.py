"""Babel gettext catalogs, locale negotiation and translators bound to one locale.

Catalogs are compiled from `locales/<locale>/LC_MESSAGES/messages.po` when first used
(no .mo files in git). A string missing from a catalog raises in strict mode (tests,
`make demo`) and is logged as an error, never silently, otherwise.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime as DateTime
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.paths import data_dir

log = logging.getLogger(__name__)

SHIPPED_LOCALES: tuple[str, ...] = (
    "ja",
    "en",
    "zh_Hans",
    "zh_Hant",
    "ne",
    "vi",
    "my",
    "ko",
    "si",
    "id",
    "bn",
    "mn",
)

# Platform tags are BCP 47-ish ("zh-TW", "pt-br", "zh-hans"); Chinese needs the script.
_CHINESE = {
    "zh": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh-sg": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh-hans-cn": "zh_Hans",
    "zh-my": "zh_Hans",
    "zh-tw": "zh_Hant",
    "zh-hk": "zh_Hant",
    "zh-mo": "zh_Hant",
    "zh-hant": "zh_Hant",
    "zh-hant-tw": "zh_Hant",
    "zh-hant-hk": "zh_Hant",
}
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")

# Each language by its own name, as its speakers would pick it from a list (not CLDR's
# "中文 (简体)" or "Indonesia"). Inside a sentence the catalogs name the language themselves.
ENDONYMS: dict[str, str] = {
    "ja": "日本語",
    "en": "English",
    "zh_Hans": "简体中文",
    "zh_Hant": "繁體中文",
    "ne": "नेपाली",
    "vi": "Tiếng Việt",
    "my": "မြန်မာ",
    "ko": "한국어",
    "si": "සිංහල",
    "id": "Bahasa Indonesia",
    "bn": "বাংলা",
    "mn": "Монгол",
}

# A day without the year ("30 November", "11月30日"): the full month name reads best,
# except in Mongolian, where CLDR spells the full month out in words ("арван нэгдүгээр сар").
_DAY_SKELETON = {"mn": "MMMd"}

_strict = False


class MissingTranslation(LookupError):
    """A user-facing string has no translation in the reader's catalog."""


def set_strict(strict: bool) -> None:
    """In strict mode a missing translation raises instead of being logged."""
    global _strict
    _strict = strict


def negotiate(tag: str | None) -> str | None:
    """Map a platform language tag to a shipped locale, or None when we have no catalog."""
    if not tag:
        return None
    norm = tag.strip().replace("_", "-").lower()
    if norm in _CHINESE:
        return _CHINESE[norm]
    if norm.startswith("zh-"):
        return "zh_Hant" if "hant" in norm else "zh_Hans"
    primary = norm.split("-", 1)[0]
    return primary if primary in SHIPPED_LOCALES else None


def display_name(locale: str) -> str:
    """The language's name in itself: 日本語, Tiếng Việt, Bahasa Indonesia, ..."""
    return ENDONYMS.get(locale, locale)


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def catalog_path(locale: str, root: Path | None = None) -> Path:
    return (root or data_dir("locales")) / locale / "LC_MESSAGES" / "messages.po"


@cache
def _compiled(locale: str) -> tuple[Translations, frozenset[str]]:
    path = catalog_path(locale)
    if not path.exists():
        raise MissingTranslation(f"no catalog for locale {locale!r} at {path}")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    translated = frozenset(
        str(m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id
        and m.string
        and not m.fuzzy
        and (all(m.string) if isinstance(m.string, (list, tuple)) else True)
    )
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages"), translated


class Translator:
    """gettext for one locale; `_` and `ngettext` are what Babel extracts."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._translations, self._known = _compiled(locale)

    def knows(self, msgid: str) -> bool:
        """Whether the catalog has a translation of this message."""
        return msgid in self._known

    def _check(self, msgid: str) -> None:
        if msgid not in self._known:
            message = f"untranslated string in {self.locale}: {msgid[:60]!r}"
            if _strict:
                raise MissingTranslation(message)
            log.error("i18n.missing", extra={"locale": self.locale})

    def _(self, message: str, **values: object) -> str:
        """Translate `message` and fill its {placeholders}."""
        self._check(message)
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        self._check(singular)
        text = self._translations.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def datetime(self, moment: DateTime, zone: str, fmt: str = "medium") -> str:
        return format_datetime(moment, format=fmt, tzinfo=ZoneInfo(zone), locale=self.locale)

    def date(self, moment: DateTime, zone: str) -> str:
        return format_datetime(
            moment, format="yyyy-MM-dd", tzinfo=ZoneInfo(zone), locale=self.locale
        )

    def day(self, moment: DateTime, zone: str) -> str:
        """The local day as people say it in this language: "November 30", "30 tháng 11"."""
        skeleton = _DAY_SKELETON.get(self.locale, "MMMMd")
        return format_skeleton(skeleton, moment, tzinfo=ZoneInfo(zone), locale=self.locale)

    def join(self, items: list[str]) -> str:
        """A list in running text, with this language's separator (ja, zh: 、)."""
        # TRANSLATORS: put between the items of a list, e.g. topics ("、" in ja and zh)
        return self._(", ").join(items)


@cache
def translator(locale: str) -> Translator:
    return Translator(locale)


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message
