"""A student's own data: /mydata and `furikaeri export` give everything of this student and
nothing of another; /forget and `furikaeri forget` delete it, down to the database files."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.db.models import (
    Answer,
    AuditEntry,
    ChannelAccount,
    CounselingSession,
    InboxEvent,
    OutboxMessage,
    Run,
    Student,
)
from bot.engine.context import Context
from bot.engine.replies import Recipient, Reply
from handlers import admin
from tests.e2e.world import World
from tests.fakes.line_api import LineApiFake
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import Counselor, Harness
from tests.stored import rows_of, sqlite_bytes, stored_text

MINE = ["Linh noticed she rushes 3a9e", "Linh will call the visa office 3a9e"]
OTHERS = {
    "s2": ["Minh wants to go home after graduation 88d0"],
    "s3": ["Another counselor's student writes b51c"],
}


async def _reflect(harness: Harness, counselor: Counselor, user: str, texts: list[str]) -> int:
    """Enroll a student, log a session, press a topic and answer in free text."""
    name = {"s1": "Linh", "s2": "Minh", "s3": "Ana"}[user]
    student_id = await harness.student(counselor, user, name=name)
    await harness.session(counselor, student_id, "visa,interview")
    await harness.press(user, "Visa / status")
    for text in texts:
        await harness.say(user, text)
    return student_id


async def _three_students(harness: Harness) -> tuple[Counselor, int, int, int]:
    sato = await harness.counselor(name="Sato")
    tanaka = await harness.counselor(name="Tanaka")
    mine = await _reflect(harness, sato, "s1", MINE)
    other = await _reflect(harness, sato, "s2", OTHERS["s2"])
    foreign = await _reflect(harness, tanaka, "s3", OTHERS["s3"])
    return sato, mine, other, foreign


def _all_other_texts() -> list[str]:
    return [text for texts in OTHERS.values() for text in texts]


# -- export -----------------------------------------------------------------------------------


async def test_mydata_gives_everything_of_this_student_and_nothing_of_another(
    harness: Harness,
) -> None:
    _, mine, other, _ = await _three_students(harness)
    replies = await harness.say("s1", "/mydata")
    summary, file_reply = replies[0].text, replies[-1]
    assert file_reply.document is not None and file_reply.text == ""
    data = json.loads(file_reply.document.content)

    stored = await rows_of(harness.engine.db, Answer, student_id=mine)
    assert len(data["answers"]) == len(stored) == 3  # the topic button and two texts
    assert [a["text"] for a in data["answers"]] == [a.text for a in stored]
    assert data["answers"][0]["choice"] == "visa"
    assert (
        data["answers"][1]["question"]
        == harness.engine.prompts.question(stored[1].question_id).text
    )
    assert data["student"]["id"] == mine and data["student"]["counselor"] == "Sato"
    assert [(a["channel"], a["user_id"]) for a in data["chat_accounts"]] == [("test", "s1")]
    assert [s["topics"] for s in data["sessions"]] == [["visa", "interview"]]
    assert [r["state"] for r in data["question_sets"]] == ["active", "scheduled", "scheduled"]
    assert {e["action"] for e in data["audit_log"]} >= {"consent.given", "session.logged"}

    for text in MINE:
        assert text in summary
    assert "Visa / status" in summary and "Sato" in summary
    assert "I keep 3 answers of yours." in summary
    everything = summary + json.dumps(data, ensure_ascii=False)
    for text in _all_other_texts():
        assert text not in everything
    assert "Minh" not in everything and '"s2"' not in everything and '"s3"' not in everything
    audited = await rows_of(harness.engine.db, AuditEntry, subject=f"student:{other}")
    assert (
        audited
        and len(data["audit_log"])
        == len(await rows_of(harness.engine.db, AuditEntry, subject=f"student:{mine}")) - 1
    )  # all of this student's entries but the export being recorded now

    exported = await rows_of(harness.engine.db, AuditEntry, action="data.exported")
    assert [(e.actor, e.subject) for e in exported] == [(f"student:{mine}", f"student:{mine}")]


async def test_mydata_stays_available_before_consent_and_shows_nothing_kept(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", consent=False)
    replies = await harness.say("s1", "/mydata")
    assert "I keep 0 answers of yours." in replies[0].text


def _cli(database_url: str, *args: str) -> Any:
    env = {"FURIKAERI_DATABASE_URL": database_url, "FURIKAERI_DEFAULT_LOCALE": "en"}
    return CliRunner().invoke(cli_app, list(args), env=env)


def _prepare(database_url: str) -> tuple[int, int, int]:
    """Three students who answered, set up through the engine; the app is closed after."""

    async def run() -> tuple[int, int, int]:
        harness = await Harness.create(database_url)
        try:
            _, mine, other, foreign = await _three_students(harness)
            return mine, other, foreign
        finally:
            await harness.close()

    return asyncio.run(run())


def test_cli_export_prints_everything_of_this_student_only(database_url: str) -> None:
    mine, _, _ = _prepare(database_url)
    result = _cli(database_url, "export", str(mine))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [a["text"] for a in data["answers"]] == [None, *MINE]
    assert data["answers"][1]["question"]  # the question, as asked (English source)
    for text in _all_other_texts():
        assert text not in result.stdout


# -- deletion -----------------------------------------------------------------------------------


async def _waiting_digest_quoting(harness: Harness, counselor: Counselor, text: str) -> None:
    """A digest push to the counselor, queued for later, that quotes an answer."""

    async def job(ctx: Context) -> list[Reply]:
        return [
            Reply(
                text=f"Digest: {text}",
                to=Recipient("counselor", counselor.id),
                due_at=ctx.now + timedelta(hours=1),
            )
        ]

    await harness.engine.run_job(job)


async def _forget_in_chat(harness: Harness) -> tuple[int, int]:
    """Three students; the first reads back, exports, then deletes everything."""
    sato, mine, other, _ = await _three_students(harness)
    await harness.say("s1", "/journal")
    await harness.say("s1", "/mydata")
    await harness.say(sato.user, "/digest")
    await _waiting_digest_quoting(harness, sato, MINE[0])
    await harness.say("s1", "/forget")
    [done] = await harness.press("s1", "Delete everything")
    assert done.text.startswith("Everything is deleted")
    return mine, other


async def test_forget_deletes_everything_of_the_student_and_nothing_else(
    harness: Harness,
) -> None:
    mine, other = await _forget_in_chat(harness)
    db = harness.engine.db
    assert await rows_of(db, Student, id=mine) == []
    for model in (Answer, Run, CounselingSession, ChannelAccount, OutboxMessage):
        assert await rows_of(db, model, student_id=mine) == [], model.__name__
    assert [a.text for a in await rows_of(db, Answer, student_id=other)][1:] == OTHERS["s2"]
    inbox = await rows_of(db, InboxEvent)
    assert all(e.payload is None for e in inbox)
    # Only the event being handled (the confirmation) still names the sender.
    assert len([e for e in inbox if e.sender == "test:s1"]) == 1
    assert len([e for e in inbox if e.sender == "test:forgotten"]) > 5
    stored = await stored_text(db)
    for text in MINE:
        assert text not in stored
    for text in _all_other_texts():
        assert text in stored
    [deleted] = await rows_of(db, AuditEntry, action="data.deleted")
    assert (deleted.actor, deleted.subject, deleted.detail) == (
        f"student:{mine}",
        f"student:{mine}",
        {},
    )

    # The student is a stranger now; a message from them is not kept.
    replies = await harness.say("s1", "hello again")
    assert "To join" in replies[-1].text


async def test_after_forget_the_answers_are_gone_from_the_sqlite_files(sqlite_url: str) -> None:
    harness = await Harness.create(sqlite_url)
    try:
        sato, _, _, _ = await _three_students(harness)
        await harness.say("s1", "/journal")
        await harness.say("s1", "/mydata")
        await harness.say(sato.user, "/digest")
        before = sqlite_bytes(sqlite_url)
        assert all(text.encode() in before for text in MINE)  # the search can find them
        await harness.say("s1", "/forget")
        await harness.press("s1", "Delete everything")
        after = sqlite_bytes(sqlite_url)  # the app is still running: nothing closed the files
        for text in MINE:
            assert text.encode() not in after
        for text in OTHERS["s2"]:
            assert text.encode() in after
    finally:
        await harness.close()


def test_cli_forget_leaves_no_answer_text_in_the_sqlite_files(sqlite_url: str) -> None:
    mine, other, _ = _prepare(sqlite_url)
    before = sqlite_bytes(sqlite_url)
    assert all(text.encode() in before for text in MINE)
    result = _cli(sqlite_url, "forget", str(mine), "--yes")
    assert result.exit_code == 0, result.output
    after = sqlite_bytes(sqlite_url)
    for text in MINE:
        assert text.encode() not in after
    assert OTHERS["s2"][0].encode() in after
    assert _cli(sqlite_url, "export", str(mine)).exit_code == 1
    assert _cli(sqlite_url, "export", str(other)).exit_code == 0


def test_cli_forget_asks_before_deleting(database_url: str) -> None:
    mine, _, _ = _prepare(database_url)
    refused = CliRunner().invoke(
        cli_app,
        ["forget", str(mine)],
        input="n\n",
        env={"FURIKAERI_DATABASE_URL": database_url, "FURIKAERI_DEFAULT_LOCALE": "en"},
    )
    assert refused.exit_code == 1
    assert MINE[0] in _cli(database_url, "export", str(mine)).stdout


# -- both channels, through their real SDKs ------------------------------------------------------

COUNSELOR_TG = 100
STUDENT_TG = 200
STUDENT_LINE = "U" + "1" * 32


@pytest.fixture
def world(both_channels: World) -> World:
    return both_channels


async def _enroll_on_both(world: World, line: LineApiFake) -> None:
    counselor_id, link = await world.add_counselor("Sato")
    await world.tg_say(COUNSELOR_TG, f"/start {link}")
    for user, name in ((STUDENT_TG, "Linh"), (STUDENT_LINE, "Minh")):
        code = await admin.create_invite(
            world.running.engine, counselor_id=counselor_id, label=name
        )
        if isinstance(user, int):
            await world.tg_say(user, f"/start {code}")
            await world.tg_press(user, "Continue")
            await world.tg_press(user, "I agree")
        else:
            line.set_profile(user, "Minh Display", "en")
            await world.line_say(user, code)
            await world.line_press(user, "Continue")
            await world.line_press(user, "I agree")
        await world.tg_say(COUNSELOR_TG, "/session")
        await world.tg_press(COUNSELOR_TG, name)
        await world.tg_press(COUNSELOR_TG, "Done")


async def test_mydata_is_a_file_and_a_summary_on_telegram_and_a_summary_on_line(
    world: World,
    tg: FakeTelegram,
    line: LineApiFake,
) -> None:
    await _enroll_on_both(world, line)
    await world.tg_say(STUDENT_TG, MINE[0])
    await world.line_say(STUDENT_LINE, OTHERS["s2"][0])

    await world.tg_say(STUDENT_TG, "/mydata")
    [document] = tg.sent_documents(STUDENT_TG)
    assert document["filename"] == "furikaeri-my-data.json"
    content: bytes = document["content"]
    data = json.loads(content)
    assert [a["text"] for a in data["answers"]] == [MINE[0]]
    assert OTHERS["s2"][0].encode() not in content
    summary = world.tg_texts(STUDENT_TG)[-2]
    assert summary.startswith("Everything I keep about you:") and MINE[0] in summary

    sent_before = len(line.all_messages(STUDENT_LINE))
    await world.line_say(STUDENT_LINE, "/mydata")
    shown = [m.text for m in line.all_messages(STUDENT_LINE)[sent_before:]]
    assert len(shown) == 1 and shown[0].startswith("Everything I keep about you:")
    assert OTHERS["s2"][0] in shown[0] and MINE[0] not in shown[0]
    assert all(m.type == "text" for m in line.all_messages(STUDENT_LINE))
