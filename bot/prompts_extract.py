"""Babel extraction method for prompts/*.yaml (registered as `furikaeri_yaml`).

Extracts the value of every key in `MESSAGE_KEYS` (question text and its later-day form, scale
labels, yes/no answers, set intro, outro and journal heading, mirror labels, the digest's
short labels of sets, steps and questions, topic labels and names, contact names, hours and
notes) with the id of the question, step, topic or contact as
a translator comment. Ids, phone numbers, URLs, durations
and the safety `phrases` lists are data, not messages, and are never extracted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MESSAGE_KEYS = frozenset(
    {
        "intro",
        "intro_later",
        "outro",
        "journal",
        "mirror",
        "text",
        "later",
        "low",
        "high",
        "answer_yes",
        "answer_no",
        "label",
        "name",
        "hours",
        "note",
    }
)
_LATER = "asked on a day after the session; {date} is the session's date, e.g. 30 November"
SKIPPED_KEYS = frozenset({"phrases"})

_HINTS = {
    "intro": "sent before the first question",
    "intro_later": f"sent before the first question, {_LATER}",
    "outro": "sent after the last question",
    "journal": "heading of these answers in /journal; {date} is the session's date",
    "mirror": (
        "short label before the student's answer when their answers are shown back; the "
        "counselor's digest shows it too unless the step has its own label"
    ),
    "later": _LATER,
    "low": "scale label for 1, keep it short",
    "high": "scale label for 5, keep it short",
    "label": "button label, at most 20 characters",
    "answer_yes": "button label, at most 20 characters: a natural YES answer to the question",
    "answer_no": "button label, at most 20 characters: a natural NO answer to the question",
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
        # a set, a step ("<set>.<step>"), a question ("<set>.<step>.<slug>"), "topic <id>"
        # or "contact <id>"
        if section:
            owner = f"{section} {own_id}"
        elif owner and _has(node, "pool"):
            owner = f"{owner}.{own_id}"
        else:
            owner = own_id
    asked = _scalar(node, "text")
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if key in SKIPPED_KEYS:
            continue
        if key in MESSAGE_KEYS and isinstance(value_node, ScalarNode):
            if value_node.tag == "tag:yaml.org,2002:str" and value_node.value.strip():
                comment = _comment(owner, key)
                if key in ("answer_yes", "answer_no") and asked:
                    comment += f' "{asked}"'
                yield (value_node.start_mark.line + 1, None, value_node.value, [comment])
            continue
        child_section = {"topics": "topic", "contacts": "contact"}.get(key or "", section)
        yield from _walk(value_node, owner=owner, section=child_section)


def _comment(owner: str, key: str) -> str:
    if key == "text":
        return owner
    if key == "label" and not owner.startswith(("topic ", "contact ")):
        return f"{owner}: short name in the counselor's digest, at most 40 characters"
    return f"{owner}: {_HINTS.get(key, key)}"


def _has(node: MappingNode, wanted: str) -> bool:
    return any(isinstance(k, ScalarNode) and k.value == wanted for k, _ in node.value)


def _scalar(node: MappingNode, wanted: str) -> str | None:
    for key_node, value_node in node.value:
        if (
            isinstance(key_node, ScalarNode)
            and key_node.value == wanted
            and isinstance(value_node, ScalarNode)
        ):
            return str(value_node.value)
    return None
