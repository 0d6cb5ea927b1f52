"""The command menus a chat app shows next to the text field, in the reader's language."""

from __future__ import annotations

import logging

from bot.i18n import N_, MissingTranslation, translator

log = logging.getLogger(__name__)

# Descriptions are shown in Telegram's command menu: at most 256 characters, short is better.
STUDENT_COMMANDS: tuple[tuple[str, str], ...] = (
    # TRANSLATORS: a command in the chat app's menu; keep it short
    ("journal", N_("Read what you wrote")),
    ("skip", N_("Skip the current question")),
    ("language", N_("Change the language")),
    ("timezone", N_("Set your time zone")),
    ("pause", N_("Pause questions for a while")),
    ("resume", N_("Receive questions again")),
    ("stop", N_("Stop all messages")),
    ("privacy", N_("What is kept and who reads it")),
    ("mydata", N_("Get a copy of your data")),
    ("forget", N_("Delete all your data")),
    ("help", N_("What I can do")),
)
COUNSELOR_COMMANDS: tuple[tuple[str, str], ...] = (
    # TRANSLATORS: a command in the chat app's menu; keep it short
    ("session", N_("Log a session and send the reflection")),
    ("digest", N_("What your students wrote")),
    ("invite", N_("Create an invite code for a student")),
    ("students", N_("Your students and their status")),
    ("language", N_("Change the language")),
    ("timezone", N_("Set your time zone")),
    ("help", N_("Commands for counselors")),
)


def menu(commands: tuple[tuple[str, str], ...], locale: str) -> list[tuple[str, str]] | None:
    """(command, description) in `locale`; None when its catalog lacks a description
    (strict mode), so the platform shows its default menu instead of a broken one."""
    t = translator(locale)
    try:
        return [(name, t._(description)) for name, description in commands]
    except MissingTranslation:
        log.warning("menus.untranslated", extra={"locale": locale})
        return None
