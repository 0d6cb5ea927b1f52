"""Invite and link codes a person can read off a printed sheet and type on a phone.

Ten characters from 31 that cannot be mistaken for each other (no 0/O, 1/I/L): about
49.5 bits, shown as two groups of five ("K7QMZ-3XHPW"). Case, spaces and dashes do not
matter when typed; the Telegram deep link carries the same code.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10
GROUP = 5
_TYPED = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-_‐-―ー－]+")  # spaces, ASCII and typographic dashes


def new_code() -> str:
    """A fresh random code, grouped for reading."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def normalize(typed: str) -> str:
    """The code as stored: upper case, full-width folded, separators dropped."""
    folded = "".join(
        chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in typed.strip()
    )
    return _SEPARATORS.sub("", folded).upper()


def looks_like_code(typed: str) -> bool:
    """Whether a typed message is meant as a code (so a typo gets "not valid", not help)."""
    return bool(_TYPED.match(normalize(typed)))
