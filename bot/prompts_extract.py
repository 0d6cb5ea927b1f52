"""Babel extraction method for prompts/*.yaml (registered as `furikaeri_yaml`).

Extracts the value of every key in `MESSAGE_KEYS` (question text, scale labels, set intro
and outro, topic labels and names, contact names, hours and notes) with the id of the
question, topic or contact as a translator comment. Ids, phone numbers, URLs, durations
and the safety `phrases` lists are data, not messages, and are never extracted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MESSAGE_KEYS = frozenset(
    {"intro", "outro", "text", "low", "high", "label", "name", "hours", "note"}
)
SKIPPED_KEYS = frozenset({"phrases"})

_HINTS = {
    "intro": "sent before the first question",
    "outro": "sent after the last question",
    "low": "scale label for 1, keep it short",
    "high": "scale label for 5, keep it short",
    "label": "button label, at most 20 characters",
    "name": "full name",
    "hours": "opening hours",
    "note": "note",
}

Message = tuple[int, str | None, str, list[str]]


def extract_prompts(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Message]:
    """Yield (lineno, funcname, message, comments) for each translatable string."""
    root = yaml.compose(fileobj, Loader=yaml.SafeLoader)
    if root is None:
        return
    yield from _walk(root, owner="", section="")


def _walk(node: Node, *, owner: str, section: str) -> Iterator[Message]:
    if isinstance(node, SequenceNode):
        for item in node.value:
            yield from _walk(item, owner=owner, section=section)
        return
    if not isinstance(node, MappingNode):
        return
    own_id = _scalar(node, "id")
    if own_id:
        # a set, a question ("<set>.<step>.<slug>"), "topic <id>" or "contact <id>"
        owner = f"{section} {own_id}" if section else own_id
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if key in SKIPPED_KEYS:
            continue
        if key in MESSAGE_KEYS and isinstance(value_node, ScalarNode):
            if value_node.tag == "tag:yaml.org,2002:str" and value_node.value.strip():
                yield (
                    value_node.start_mark.line + 1,
                    None,
                    value_node.value,
                    [_comment(owner, key)],
                )
            continue
        child_section = {"topics": "topic", "contacts": "contact"}.get(key or "", section)
        yield from _walk(value_node, owner=owner, section=child_section)


def _comment(owner: str, key: str) -> str:
    if key == "text":
        return owner
    if key == "label" and not owner.startswith(("topic ", "contact ")):
        return f"{owner}: short name in the counselor's digest, at most 40 characters"
    return f"{owner}: {_HINTS.get(key, key)}"


def _scalar(node: MappingNode, wanted: str) -> str | None:
    for key_node, value_node in node.value:
        if (
            isinstance(key_node, ScalarNode)
            and key_node.value == wanted
            and isinstance(value_node, ScalarNode)
        ):
            return str(value_node.value)
    return None
