"""Parse a webhook body: JSON, and no deeper than any real update is."""

from __future__ import annotations

import json
from typing import Any

# Telegram and LINE updates nest about ten levels (a reply inside a message inside an
# update); anything far deeper is not an update and would only cost stack and time.
MAX_DEPTH = 32


class NotAnUpdate(ValueError):
    """The body is not JSON, or is nested deeper than MAX_DEPTH."""


def parse_body(body: bytes | str) -> Any:
    """The JSON value of a webhook body; NotAnUpdate for anything else (never RecursionError)."""
    try:
        value = json.loads(body)
    except RecursionError:  # the parser recursed past Python's limit: nested far too deep
        raise NotAnUpdate("nested too deep") from None
    except (UnicodeDecodeError, ValueError):
        raise NotAnUpdate("not JSON") from None
    if _depth(value) > MAX_DEPTH:
        raise NotAnUpdate("nested too deep")
    return value


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (without recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in children)
    return deepest


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


def without_personal_fields(value: Any) -> Any:
    """The update with PERSONAL_FIELDS blanked ("" or 0), in place; nested messages too."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key in PERSONAL_FIELDS and not isinstance(child, dict | list):
                    item[key] = "" if isinstance(child, str) else 0
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return value
