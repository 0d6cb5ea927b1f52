"""Parse a webhook body: JSON, no deeper than any real update is, and (for storing it)
without the fields that name or locate a person."""

from __future__ import annotations

import json
from typing import Any

# Telegram and LINE updates nest about ten levels (a reply inside a message inside an
# update); anything far deeper is not an update and would only cost stack and time.
MAX_DEPTH = 32

# Fields of a platform update that name or locate a person and that no translation reads:
# blanked before the update is stored (the types stay, so the SDKs still parse it).
PERSONAL_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "username",
        "phone_number",
        "vcard",
        "email",
        "address",
        "latitude",
        "longitude",
    }
)


class NotAnUpdate(ValueError):
    """The body is not JSON, or is nested deeper than MAX_DEPTH."""


def parse_body(body: bytes | str, *, without_personal_fields: bool = False) -> Any:
    """The JSON value of a webhook body; NotAnUpdate for anything else (never RecursionError).
    With `without_personal_fields`, PERSONAL_FIELDS are blanked ("" or 0) on the way."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        value = (_BLANKING if without_personal_fields else _PLAIN).decode(text)
    except RecursionError:  # the parser recursed past Python's limit: nested far too deep
        raise NotAnUpdate("nested too deep") from None
    except (UnicodeDecodeError, ValueError):
        raise NotAnUpdate("not JSON") from None
    # It nests no deeper than it has opening brackets (those inside strings only add to the
    # count): counted in C, so an ordinary update is never walked.
    if isinstance(body, bytes):
        opening = body.count(b"{") + body.count(b"[")
    else:
        opening = body.count("{") + body.count("[")
    if opening > MAX_DEPTH and _walk(value, blank=False) > MAX_DEPTH:
        raise NotAnUpdate("nested too deep")
    return value


def without_personal_fields(value: Any) -> Any:
    """The parsed update with PERSONAL_FIELDS blanked, in place (nested messages too)."""
    _walk(value, blank=True)
    return value


def _walk(value: Any, *, blank: bool) -> int:
    """How deeply lists and objects nest in a parsed JSON value (without recursion), and
    blank the personal fields on the way when asked."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if blank:
                _blanked(item)
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _blanked(item: dict[str, Any]) -> dict[str, Any]:
    """One JSON object (as the parser builds it) with PERSONAL_FIELDS blanked, in place."""
    for key in PERSONAL_FIELDS.intersection(item):
        if not isinstance(item[key], dict | list):
            item[key] = "" if isinstance(item[key], str) else 0
    return item


_PLAIN = json.JSONDecoder()
_BLANKING = json.JSONDecoder(object_hook=_blanked)  # built once (json.loads builds one a call)
