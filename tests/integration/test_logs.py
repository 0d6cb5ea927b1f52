"""Logs never hold message text, tokens, secrets or codes: a full run on both channels,
through their real SDKs, logged at DEBUG, searched for every one of them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.logs import MASK, formatter
from handlers import admin, retention
from tests.e2e.world import LINE_SECRET, LINE_TOKEN, TG_SECRET, TG_TOKEN, World
from tests.fakes.line_api import LineApiFake, line_event_text, signed_body
from tests.fakes.telegram_api import FakeTelegram
from tests.logcheck import AppLogs

COUNSELOR = 100
STUDENT_TG = 200
STUDENT_LINE = "U" + "2" * 32
DISPLAY_NAME = "Minh Display-Name 6d2a"
ANSWERS_TG = ["I noticed I rush my answers e41b", "Call the immigration office e41b"]
ANSWERS_LINE = ["My family expects me home c07f", "Honestly, sometimes I want to die c07f"]
EDITED = "I noticed I rush my answers, and I smile too much e41b"


@pytest.fixture
def world(both_channels: World) -> World:
    return both_channels


async def _full_run(world: World, tg: FakeTelegram, line: LineApiFake) -> list[str]:
    """Link, invite, join on both channels, reflect, alert, digest, export, fail, forget.
    Returns the codes used."""
    engine = world.running.engine
    counselor_id, link = await world.add_counselor("Sato")
    await world.tg_say(COUNSELOR, f"/start {link}")
    await world.tg_say(COUNSELOR, "/invite Linh")
    tg_code = world.tg_texts(COUNSELOR)[-1].splitlines()[1]
    line_code = await admin.create_invite(engine, counselor_id=counselor_id, label="Minh")

    await world.tg_say(STUDENT_TG, f"/start {tg_code}")
    await world.tg_press(STUDENT_TG, "Continue")
    await world.tg_press(STUDENT_TG, "I agree")
    line.set_profile(STUDENT_LINE, DISPLAY_NAME, "en")
    await world.line_say(STUDENT_LINE, line_code)
    await world.line_press(STUDENT_LINE, "Continue")
    await world.line_press(STUDENT_LINE, "I agree")

    for name in ("Linh", "Minh"):
        await world.tg_say(COUNSELOR, "/session")
        await world.tg_press(COUNSELOR, name)
        await world.tg_press(COUNSELOR, "Visa / status")
        await world.tg_press(COUNSELOR, "Done")
    await world.tg_press(STUDENT_TG, "Visa / status")
    updates = [tg.text_update(STUDENT_TG, text) for text in ANSWERS_TG]
    for update in updates:
        await world.tg_deliver(update)
    first_id = updates[0]["message"]["message_id"]
    await world.tg_deliver(tg.edited_update(STUDENT_TG, first_id, EDITED))
    await world.tg_deliver(updates[1])  # Telegram delivers it again: handled once
    await world.line_press(STUDENT_LINE, "Skip")
    for text in ANSWERS_LINE:  # the second one is a crisis: help, alert, urgent
        await world.line_say(STUDENT_LINE, text)
    assert any(t.startswith("Urgent:") for t in world.tg_texts(COUNSELOR))

    # Webhooks that are refused: a wrong Telegram secret, a bad LINE signature.
    assert await world.tg_post(tg.text_update(STUDENT_TG, ANSWERS_TG[0]), secret="wrong") == 403
    body, headers = signed_body([line_event_text(STUDENT_LINE, ANSWERS_LINE[0])], "bad-secret")
    assert world.client is not None
    refused = await world.client.post("/webhook/line", content=body, headers=headers)
    assert refused.status_code == 400

    await world.tg_say(COUNSELOR, "/digest")
    assert ANSWERS_LINE[0] in "\n".join(world.tg_texts(COUNSELOR))
    await world.tg_say(STUDENT_TG, "/journal")
    await world.tg_say(STUDENT_TG, "/mydata")
    await world.line_say(STUDENT_LINE, "/mydata")
    await admin.export_student(engine, student_id=1, counselor_id=None)
    await admin.digest(engine, counselor_id=counselor_id, since=None)

    # Sends that fail: a temporary error is retried, a refused one is given up.
    tg.fail_next("sendMessage", status=502)
    await world.tg_say(STUDENT_TG, "/help")
    await world.tick(timedelta(seconds=5))
    tg.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
    await world.tg_say(STUDENT_TG, "/privacy")

    await world.line_say(STUDENT_LINE, "/forget")
    await world.line_press(STUDENT_LINE, "Delete everything")
    world.clock.advance(timedelta(days=400))
    await engine.run_job(retention.purge)
    return [link, tg_code, line_code]


async def test_a_full_run_logs_no_text_token_secret_or_code(
    world: World,
    tg: FakeTelegram,
    line: LineApiFake,
    app_logs: AppLogs,
) -> None:
    codes = await _full_run(world, tg, line)
    logs = app_logs.everything()
    forbidden = {
        **{f"answer {n}": text for n, text in enumerate([*ANSWERS_TG, *ANSWERS_LINE, EDITED])},
        "answer marker": "e41b",
        "line answer marker": "c07f",
        "telegram token": TG_TOKEN,
        "telegram token secret part": TG_TOKEN.split(":", 1)[1],
        "telegram webhook secret": TG_SECRET,
        "line channel secret": LINE_SECRET,
        "line access token": LINE_TOKEN,
        "line display name": DISPLAY_NAME,
        **{f"code {n}": code for n, code in enumerate(codes)},
    }
    leaked = {what: value for what, value in forbidden.items() if value in logs}
    assert leaked == {}

    # The run was logged: our events, the libraries' warnings, at several levels.
    events = {r.getMessage() for r in app_logs.records}
    assert {"code.redeemed", "outbox.rejected"} <= events
    assert any(r.name.startswith("bot.channels") for r in app_logs.records)
    assert {r.levelname for r in app_logs.records} >= {"INFO", "WARNING"}

    # Structured: one JSON object a line, with the event and its fields.
    entries = [json.loads(line_) for line_ in app_logs.json_lines]
    assert len(entries) == len(app_logs.records)
    assert all({"time", "level", "logger", "event"} <= set(entry) for entry in entries)
    redeemed = [e for e in entries if e["event"] == "code.redeemed"]
    assert sorted(e["kind"] for e in redeemed) == ["invite", "invite", "link"]
    assert all(e["counselor"] == 1 and e["channel"] in ("telegram", "line") for e in redeemed)


def test_known_secrets_are_masked_in_any_line() -> None:
    """The last line of defence, for a secret some library puts in an exception message."""
    import logging

    record = logging.makeLogRecord(
        {"name": "x", "levelno": logging.ERROR, "levelname": "ERROR", "msg": f"GET /bot{TG_TOKEN}/"}
    )
    for json_lines in (True, False):
        line_ = formatter(json_lines=json_lines, secrets=[TG_TOKEN, LINE_TOKEN]).format(record)
        assert TG_TOKEN not in line_ and MASK in line_
