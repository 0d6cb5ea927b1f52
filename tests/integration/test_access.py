"""Access: a counselor sees and acts on their own students only, whatever id they type (chat
and CLI); students never reach counselor commands; codes are random, single-use, expire and
never appear in logs."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import timedelta
from typing import Any

from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.db.models import AuditEntry, ChannelAccount, Code, CounselingSession, Student
from bot.engine.events import Kind
from tests.harness import Counselor, Harness
from tests.logcheck import AppLogs
from tests.stored import rows_of, stored_text

SECRET = "Tanaka's student wrote this privately 41d3"
NO_SUCH_STUDENT = "You have no student with that number. See /students."


async def _two_counselors(harness: Harness) -> tuple[Counselor, int, Counselor, int]:
    """Sato with Linh, Tanaka with Ana; Ana answered after a session."""
    sato = await harness.counselor(name="Sato")
    tanaka = await harness.counselor(name="Tanaka")
    linh = await harness.student(sato, "s1", name="Linh")
    ana = await harness.student(tanaka, "s3", name="Ana")
    await harness.session(tanaka, ana)
    await harness.say("s3", SECRET)
    return sato, linh, tanaka, ana


async def _sessions_of(harness: Harness, student_id: int) -> list[CounselingSession]:
    return await rows_of(harness.engine.db, CounselingSession, student_id=student_id)


async def test_a_counselor_cannot_log_a_session_for_another_counselors_student(
    harness: Harness,
) -> None:
    sato, linh, tanaka, ana = await _two_counselors(harness)
    sent_to_ana = len(harness.texts("s3"))
    for typed in (
        f"/session {ana}",
        f"/session #{ana} visa",
        f"/session {ana} visa,interview",
        "/session 99",
        "/session 0",
        "/session -1",
        f"/session {ana}abc",
    ):
        [reply] = await harness.say(sato.user, typed)
        assert reply.text == NO_SUCH_STUDENT, typed
    # Buttons are data the client sends: a forged one is checked like a typed id.
    for data in (f"ses:s:{ana}", "ses:s:99", "ses:done", "ses:t:visa"):
        replies = await harness.send(harness.event(sato.user, kind=Kind.CHOICE, data=data))
        assert all("Session logged" not in r.text for r in replies), data
    assert len(await _sessions_of(harness, ana)) == 1  # Tanaka's own
    assert len(harness.texts("s3")) == sent_to_ana  # Ana got nothing from Sato
    logged = await rows_of(harness.engine.db, AuditEntry, action="session.logged")
    assert [e.actor for e in logged] == [f"counselor:{tanaka.id}"]

    # Sato's own student works the same way, so the refusals above are about ownership.
    [reply] = await harness.say(sato.user, f"/session {linh} visa")
    assert reply.text.startswith("Session logged for Linh")


async def test_a_counselor_reads_only_their_own_students(harness: Harness) -> None:
    sato, linh, _, ana = await _two_counselors(harness)
    await harness.session(sato, linh)
    await harness.say("s1", "Linh's own answer")
    digest = "\n".join(r.text for r in await harness.say(sato.user, "/digest"))
    assert "Linh's own answer" in digest
    assert SECRET not in digest and "Ana" not in digest
    week = "\n".join(r.text for r in await harness.say(sato.user, "/digest 400w"))
    assert SECRET not in week
    students = "\n".join(r.text for r in await harness.say(sato.user, "/students"))
    assert f"#{linh} Linh" in students and f"#{ana}" not in students and "Ana" not in students
    [viewed, _] = await rows_of(harness.engine.db, AuditEntry, action="digest.viewed")
    assert viewed.actor == f"counselor:{sato.id}" and viewed.detail["students"] == [linh]


async def test_admin_actions_are_not_in_the_chat(harness: Harness) -> None:
    sato, linh, _, ana = await _two_counselors(harness)
    for typed in (f"/forget {ana}", f"/export {linh}", f"/mydata {ana}", "/counselor add X"):
        [reply] = await harness.say(sato.user, typed)
        assert reply.text.startswith("Commands for counselors:"), typed
    assert len(await rows_of(harness.engine.db, Student)) == 2
    assert await rows_of(harness.engine.db, AuditEntry, action="data.exported") == []


async def test_students_never_reach_counselor_commands(harness: Harness) -> None:
    sato, linh, _, _ = await _two_counselors(harness)
    codes_before = len(await rows_of(harness.engine.db, Code))
    for typed in ("/digest", "/students", "/invite Bob", f"/session {linh} visa", "/session"):
        replies = await harness.say("s1", typed)
        assert replies[0].text == "I do not know that command.", typed
        shown = "\n".join(r.text for r in replies)
        assert "Digest for" not in shown and "Invite code" not in shown and SECRET not in shown
    for data in (f"ses:s:{linh}", "ses:done"):
        [reply] = await harness.send(harness.event("s1", kind=Kind.CHOICE, data=data))
        assert reply.text == "That button is no longer valid.", data
    assert len(await rows_of(harness.engine.db, Code)) == codes_before
    assert await _sessions_of(harness, linh) == []

    # Someone the bot does not know only learns how to join.
    for typed in ("/digest", "/students", "/invite Bob"):
        [reply] = await harness.say("stranger", typed)
        assert reply.text.startswith("Hello! I am furikaeri")
    # A student who has not consented yet gets the consent question, nothing else.
    await harness.student(sato, "s2", consent=False)
    replies = await harness.say("s2", "/digest")
    assert replies[-1].text.startswith("Before we start")


def _prepared(database_url: str) -> tuple[int, int, int, int]:
    async def run() -> tuple[int, int, int, int]:
        harness = await Harness.create(database_url)
        try:
            sato, linh, tanaka, ana = await _two_counselors(harness)
            return sato.id, linh, tanaka.id, ana
        finally:
            await harness.close()

    return asyncio.run(run())


def _cli(database_url: str, *args: str) -> Any:
    env = {"FURIKAERI_DATABASE_URL": database_url, "FURIKAERI_DEFAULT_LOCALE": "en"}
    return CliRunner().invoke(cli_app, list(args), env=env)


def test_the_cli_counselor_option_refuses_another_counselors_student(database_url: str) -> None:
    sato, _, tanaka, ana = _prepared(database_url)
    for args in (
        ["session", str(ana), "--counselor", str(sato), "--topics", "visa"],
        ["export", str(ana), "--counselor", str(sato)],
        ["forget", str(ana), "--counselor", str(sato), "--yes"],
    ):
        result = _cli(database_url, *args)
        assert result.exit_code == 1, args
        assert f"counselor {sato} has no student with id {ana}" in result.output
        assert SECRET not in result.output
    digest = _cli(database_url, "digest", "--counselor", str(sato), "--format", "json")
    assert digest.exit_code == 0 and SECRET not in digest.stdout
    assert json.loads(digest.stdout)["students"] == []
    students = _cli(database_url, "students", "--counselor", str(sato), "--json")
    assert [s["name"] for s in json.loads(students.stdout)] == ["Linh"]

    # Nothing happened to Ana; her own counselor still reaches her.
    exported = _cli(database_url, "export", str(ana), "--counselor", str(tanaka))
    assert exported.exit_code == 0 and SECRET in exported.stdout
    data = json.loads(exported.stdout)
    assert len(data["sessions"]) == 1


# -- codes ---------------------------------------------------------------------------------------


async def _invite(harness: Harness, counselor: Counselor, name: str) -> str:
    [reply] = await harness.say(counselor.user, f"/invite {name}")
    return reply.text.splitlines()[1]


async def test_codes_are_short_unambiguous_random_and_only_their_hash_is_stored(
    harness: Harness,
) -> None:
    sato = await harness.counselor()
    codes = [await _invite(harness, sato, f"Student {n}") for n in range(5)]
    assert len(set(codes)) == 5
    for code in codes:
        letters = code.replace("-", "")
        assert len(letters) == 10 and not set(letters) & set("01OIL")  # no look-alikes
        assert len(letters) * math.log2(31) >= 45  # about 49.5 bits
    stored = await stored_text(harness.engine.db)
    assert not any(code in stored for code in codes)
    rows = await rows_of(harness.engine.db, Code, kind="invite")
    assert all(r.expires_at - r.created_at == timedelta(days=14) for r in rows)


async def test_an_invite_code_works_once(harness: Harness) -> None:
    sato = await harness.counselor()
    code = await _invite(harness, sato, "Linh")
    await harness.say("s1", f"/start {code}", locale_hint="en")
    [reply] = await harness.say("s2", f"/start {code}", locale_hint="en")
    assert reply.text.startswith("This code is not valid")
    [reply] = await harness.say("s2", code)  # sent as plain text, as on LINE
    assert reply.text.startswith("This code is not valid")
    accounts = await rows_of(harness.engine.db, ChannelAccount)
    assert "s2" not in {a.external_id for a in accounts}
    [student] = await rows_of(harness.engine.db, Student)
    assert student.label == "Linh"
    # A used code keeps no trace of whom it was for.
    assert all(r.label == "" for r in await rows_of(harness.engine.db, Code, kind="invite"))


async def test_a_link_code_works_once(harness: Harness) -> None:
    from handlers import admin

    _, code = await admin.add_counselor(harness.engine, name="Sato", locale="en", is_admin=False)
    [welcome, _] = await harness.say("c-phone", f"/start {code}")
    assert welcome.text == "Your chat account is now linked, Sato."
    [reply] = await harness.say("intruder", f"/start {code}")
    assert reply.text.startswith("This code is not valid")
    replies = await harness.say("intruder", "/digest")
    assert replies[0].text.startswith("Hello! I am furikaeri")


async def test_codes_expire_after_14_days(harness: Harness) -> None:
    sato = await harness.counselor()
    early, late = await _invite(harness, sato, "Early"), await _invite(harness, sato, "Late")
    harness.clock.advance(timedelta(days=13, hours=23))
    replies = await harness.say("s1", f"/start {early}", locale_hint="en")
    assert replies[0].text.startswith("Hello! I will write to you")
    harness.clock.advance(timedelta(hours=2))
    [reply] = await harness.say("s2", f"/start {late}", locale_hint="en")
    assert reply.text.startswith("This code is not valid")


async def test_codes_never_appear_in_logs(harness: Harness, app_logs: AppLogs) -> None:
    from handlers import admin

    _, link = await admin.add_counselor(harness.engine, name="Sato", locale="en", is_admin=False)
    await harness.say("c1", f"/start {link}")
    invite = await admin.create_invite(harness.engine, counselor_id=1, label="Linh")
    chat_invite = (await harness.say("c1", "/invite Minh"))[0].text.splitlines()[1]
    await harness.say("s1", f"/start {invite}", locale_hint="en")
    await harness.say("s2", chat_invite)
    await harness.say("s3", f"/start {invite}")  # refused: used
    logs = app_logs.everything()
    events = [r.getMessage() for r in app_logs.records]
    assert events.count("code.redeemed") == 3 and events.count("code.refused") == 1
    for code in (link, invite, chat_invite):
        assert code not in logs
