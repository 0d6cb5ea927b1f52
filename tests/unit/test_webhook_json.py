"""Parsing a webhook body: personal fields blanked at any depth, and nesting beyond what
any update has refused, whether or not the body is short enough to skip the walk."""

from __future__ import annotations

import json

import pytest

from bot.channels.webhook_json import MAX_DEPTH, NotAnUpdate, parse_body, without_personal_fields

UPDATE = {
    "update_id": 7,
    "message": {
        "from": {"id": 1, "first_name": "Linh", "username": "linh_n"},
        "chat": {"id": 1, "first_name": "Linh", "type": "private"},
        "reply_to_message": {"from": {"first_name": "Sato", "last_name": "K"}},
        "contact": {"phone_number": "+81 90 0000 0000", "vcard": "BEGIN:VCARD"},
        "location": {"latitude": 35.6, "longitude": 139.7},
        "entities": [{"type": "bold", "user": {"first_name": "Mai"}}],
        "text": "first_name is Linh",
    },
}


def _nested(depth: int) -> str:
    return "[" * (depth - 1) + "{}" + "]" * (depth - 1)


@pytest.mark.parametrize("body", [json.dumps(UPDATE).encode(), json.dumps(UPDATE)])
def test_personal_fields_are_blanked_at_every_depth_and_the_rest_is_kept(
    body: bytes | str,
) -> None:
    parsed = parse_body(body, without_personal_fields=True)
    message = parsed["message"]
    assert message["from"] == {"id": 1, "first_name": "", "username": ""}
    assert message["reply_to_message"]["from"] == {"first_name": "", "last_name": ""}
    assert message["contact"] == {"phone_number": "", "vcard": ""}
    assert message["location"] == {"latitude": 0, "longitude": 0}
    assert message["entities"][0]["user"] == {"first_name": ""}
    assert message["text"] == "first_name is Linh"  # words are not fields
    assert parsed == without_personal_fields(json.loads(body))  # as the polled updates are


def test_without_the_flag_nothing_is_blanked() -> None:
    assert parse_body(json.dumps(UPDATE).encode()) == UPDATE


@pytest.mark.parametrize("as_text", [False, True])
def test_nesting_past_the_limit_is_refused_and_up_to_it_accepted(as_text: bool) -> None:
    deep, fine = _nested(MAX_DEPTH + 1), _nested(MAX_DEPTH)
    with pytest.raises(NotAnUpdate):
        parse_body(deep if as_text else deep.encode())
    assert parse_body(fine if as_text else fine.encode()) is not None


def test_brackets_inside_strings_do_not_make_a_shallow_body_deep() -> None:
    body = json.dumps({"message": {"text": "{[" * 100}}).encode()
    assert parse_body(body)["message"]["text"] == "{[" * 100


def test_far_too_deep_and_not_json_are_refused() -> None:
    with pytest.raises(NotAnUpdate):
        parse_body(b"[" * 100_000)
    with pytest.raises(NotAnUpdate):
        parse_body(b"\xff not json")
