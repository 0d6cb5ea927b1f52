"""Maintain the gettext catalogs: `python -m bot.catalogs` extracts the strings from code
and prompts, updates every shipped catalog, and fills English (the source language).

Equivalent pybabel steps are in docs/translating.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from bot.i18n import SHIPPED_LOCALES, catalog_path

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "locales" / "messages.pot"


def extract() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "--add-comments=TRANSLATORS:",
            "--sort-output",
            "--project=furikaeri",
            "--copyright-holder=furikaeri contributors",
            "-o",
            str(POT),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )


def update(locale: str) -> None:
    path = catalog_path(locale, ROOT / "locales")
    command = "update" if path.exists() else "init"
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        command,
        "-i",
        str(POT),
        "-d",
        str(ROOT / "locales"),
        "-l",
        locale,
    ]
    if command == "update":
        args += ["--no-fuzzy-matching", "--ignore-obsolete"]
    subprocess.run(args, cwd=ROOT, check=True)


def fill_english() -> None:
    """English is the source language: each msgstr is its msgid."""
    path = catalog_path("en", ROOT / "locales")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    catalog.header_comment = (
        "# English messages for furikaeri: the source language.\n"
        "# Native review: yes — English is the language the strings are written in.\n"
        "# This file is distributed under the same license as the furikaeri project."
    )
    for message in catalog:
        if not message.id:
            continue
        message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, width=100)


def main(locales: list[str]) -> None:
    extract()
    for locale in locales or SHIPPED_LOCALES:
        update(locale)
    fill_english()


if __name__ == "__main__":
    main(sys.argv[1:])
