"""The counselor's digest: read marker, shape, trends, alerts, the student list, files."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from bot.db.models import Counselor as CounselorRow
from bot.db.models import OutboxMessage
from bot.engine.events import Kind
from bot.engine.replies import Reply
from bot.i18n import translator
from handlers import admin, digest_push
from handlers.digest.render import render_csv, render_json, render_text
from tests.harness import Counselor, Harness


def joined(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


async def answered_reflection(harness: Harness, name: str = "Linh") -> tuple[Counselor, int]:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", name=name)
    await harness.session(counselor, student_id, "visa,interview")  # two: topic buttons
    return counselor, student_id


# -- the read marker ----------------------------------------------------------------------


async def test_a_look_back_keeps_new_answers_new(harness: Harness) -> None:
    counselor, _ = await answered_reflection(harness)
    await harness.press("s1", "Visa / status")
    await harness.say("s1", "I noticed I like interviews.")

    look_back = joined(await harness.say(counselor.user, "/digest 7d"))
    assert "I noticed I like interviews." in look_back
    one_student = joined(await harness.say(counselor.user, "/digest Linh"))
    assert "I noticed I like interviews." in one_student
    await admin.digest(harness.engine, counselor_id=counselor.id, since=None)

    plain = joined(await harness.say(counselor.user, "/digest"))
    assert "I noticed I like interviews." in plain  # still new: nothing above marked it read
    again = joined(await harness.say(counselor.user, "/digest"))
    assert "Nothing new since then." in again and "interviews" not in again


async def test_the_cli_marks_read_only_when_asked(harness: Harness) -> None:
    counselor, _ = await answered_reflection(harness)
    await harness.say("s1", "/skip")
    await harness.say("s1", "what I noticed")
    await admin.digest(harness.engine, counselor_id=counselor.id, since=None, mark_read=True)
    assert "Nothing new since then." in joined(await harness.say(counselor.user, "/digest"))


# -- shape ----------------------------------------------------------------------------------


async def test_answers_come_grouped_under_short_labels_with_skips_on_one_line(
    harness: Harness,
) -> None:
    counselor, _ = await answered_reflection(harness)
    await harness.say("s1", "/skip")
    await harness.say("s1", "/skip")
    await harness.say("s1", "How the visa changes.")
    digest = joined(await harness.say(counselor.user, "/digest"))
    lines = digest.splitlines()
    assert "▸ After the session · Apr 6" in lines
    assert any(line.endswith("Still unclear: How the visa changes.") for line in lines)
    skipped = [line for line in lines if line.startswith("Skipped:")]
    assert skipped == ["Skipped: Most useful, Noticed about themselves"]
    assert "you can skip" not in digest.lower()
    assert ":00:" not in digest  # no seconds
    assert sum(":" in line[:6] and line[:2].isdigit() for line in lines) == 1  # time once


async def test_a_trend_compares_only_answers_to_the_same_question(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    async with harness.engine.db.uow() as uow:
        [run] = [r for r in await uow.runs.of_student(student_id) if r.set_id == "work_life"]
        base = harness.clock.now()
        for days, question, scale in (
            (0, "work_life.weight.imagine", 2),
            (1, "work_life.weight.ten_years", 5),  # another question: not in the same trend
            (2, "work_life.weight.imagine", 4),
        ):
            await uow.answers.add(
                run_id=run.id,
                student_id=student_id,
                question_id=question,
                scale=scale,
                channel="test",
                created_at=base + timedelta(days=days),
            )
        await uow.commit()
    harness.clock.advance(timedelta(days=3))
    digest = joined(await harness.say(counselor.user, "/digest"))
    assert "How much work weighs: 2 → 4 since Apr 6" in digest
    assert "2 → 5" not in digest and "5 → 4" not in digest
    assert "work_life.weight" not in digest  # no internal ids


async def test_the_digest_reads_a_fixed_number_of_queries_whatever_the_students(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()

    async def statements() -> int:
        count = 0

        def seen(*_: object) -> None:
            nonlocal count
            count += 1

        engine = harness.engine.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            await admin.digest(harness.engine, counselor_id=counselor.id, since=None)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        return count

    async def add_students(n: int, start: int) -> None:
        for i in range(start, start + n):
            student_id = await harness.student(counselor, f"s{i}", name=f"S{i}")
            await harness.session(counselor, student_id)
            await harness.say(f"s{i}", "/skip")
            await harness.say(f"s{i}", f"answer {i}")

    await add_students(2, 0)
    few = await statements()
    await add_students(8, 2)
    assert await statements() == few


# -- alerts ---------------------------------------------------------------------------------


async def test_a_typed_yes_in_the_students_language_alerts_the_counselor(
    harness: Harness,
) -> None:
    counselor = await harness.counselor(locale="en")
    student_id = await harness.student(counselor, "s1", name="Haruto", locale="ja")
    await harness.session(counselor, student_id)
    for _ in range(5):  # to "talk again?" (the 1-5 question skipped, its reason is not asked)
        await harness.say("s1", "/skip")
    replies = await harness.say("s1", "はい！")
    alert = harness.texts(counselor.user)[-1]
    assert alert.startswith(f"Haruto (#{student_id}) would like to talk with you again.")
    assert f"/session {student_id}" in alert
    ja = translator("ja")
    assert replies[0].text == ja._(
        "I have told your counselor that you would like to talk. They will contact you."
    )
    digest = joined(await harness.say(counselor.user, "/digest"))
    assert "wants to talk" in digest and "Talk again: はい！" in digest


async def test_an_unclear_answer_is_kept_and_raises_no_alert(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", locale="vi")
    await harness.session(counselor, student_id)
    for _ in range(5):
        await harness.say("s1", "/skip")
    before = len(harness.texts(counselor.user))
    await harness.say("s1", "Có lẽ, nhưng tuần này em bận")  # "maybe, but I am busy"
    assert len(harness.texts(counselor.user)) == before
    digest = joined(await harness.say(counselor.user, "/digest"))
    assert "Có lẽ, nhưng tuần này em bận" in digest and "wants to talk" not in digest


async def test_alerts_go_out_at_once_at_night_and_never_wait_for_the_push(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", name="Minh")
    harness.clock.set(datetime(2026, 4, 7, 15, 30, tzinfo=UTC))  # 00:30 in Tokyo
    await harness.say("s1", "/stop")
    alert = harness.texts(counselor.user)[-1]
    assert alert.startswith("Minh (#1) stopped all messages from the bot (/stop).")
    await harness.send(harness.event("s1", kind=Kind.UNFOLLOW))
    assert harness.texts(counselor.user)[-1].startswith("Minh (#1) blocked the bot")
    async with harness.engine.db.uow() as uow:
        to_counselor = select(OutboxMessage).where(OutboxMessage.student_id.is_(None))
        assert {r.status for r in (await uow.session.scalars(to_counselor)).all()} == {"sent"}
    await harness.engine.run_job(digest_push.push_digests)  # the push repeats no alert
    assert sum("stopped all messages" in t for t in harness.texts(counselor.user)) == 1


# -- working with students ------------------------------------------------------------------


async def test_students_shows_language_status_last_answer_and_open_flags(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    linh = await harness.student(counselor, "s1", name="Linh", locale="vi")
    await harness.student(counselor, "s2", name="Aung", locale="my")
    await harness.student(counselor, "s3", name="Sita", consent=False)
    await harness.session(counselor, linh)
    for _ in range(5):
        await harness.say("s1", "/skip")
    await harness.press("s1", translator("vi")._("Yes, I'd like to"))
    await harness.say("s2", "/pause 10")
    listing = joined(await harness.say(counselor.user, "/students"))
    lines = {line.split(" · ")[0].lstrip("⚑ "): line for line in listing.splitlines()[1:]}
    assert lines["#1 Linh"] == "⚑ #1 Linh · Tiếng Việt · active · last answer Apr 6 · wants to talk"
    assert lines["#2 Aung"].endswith("paused until Apr 16 · last answer –")
    assert "waiting for consent" in lines["#3 Sita"]

    rows = await admin.list_students(harness.engine, counselor_id=counselor.id)
    assert [r.as_json()["flags"] for r in rows] == [["wants_to_talk"], [], []]


async def test_a_counselor_sets_their_own_language_and_time_zone(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.say(counselor.user, "/language")
    await harness.press(counselor.user, "日本語")
    assert "日本語" in harness.texts(counselor.user)[-1]
    await harness.say(counselor.user, "/timezone Asia/Kathmandu")
    async with harness.engine.db.uow() as uow:
        row = await uow.session.get(CounselorRow, counselor.id)
        assert row is not None and (row.locale, row.timezone) == ("ja", "Asia/Kathmandu")
    refused = await harness.say(counselor.user, "/timezone Mars/Olympus")
    assert "Mars/Olympus" in refused[0].text
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await harness.say("s1", "/skip")
    await harness.say("s1", "気づいたこと")
    digest = joined(await harness.say(counselor.user, "/digest"))
    assert "自分について気づいたこと: 気づいたこと" in digest  # Japanese labels
    assert "Apr 6" not in digest and "4月6日" in digest


async def test_an_invite_code_can_be_typed_loosely(harness: Harness) -> None:
    counselor = await harness.counselor()
    code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="Lan")
    typed = " ".join(code.replace("-", "").lower()[i : i + 5] for i in (0, 5))
    replies = await harness.say("s9", typed, locale_hint="vi")
    assert "tiếng Việt" in replies[0].text  # "I will write to you in Vietnamese"
    again = await harness.say("s8", code, locale_hint="vi")  # single use
    assert "không hợp lệ" in again[0].text  # "not valid"


# -- files ------------------------------------------------------------------------------------


async def test_csv_neutralises_formulas_in_every_column_and_json_keeps_text_exactly(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    name = '=HYPERLINK("http://x","Linh")'
    student_id = await harness.student(counselor, "s1", name=name)
    await harness.session(counselor, student_id)
    await harness.say("s1", "/skip")
    dangerous = ["+81 90 1234", "@SUM(A1)", "-2 weeks", "\tcmd", "=1+1"]
    for text in dangerous[:3]:
        await harness.say("s1", text)
    built = await admin.digest(harness.engine, counselor_id=counselor.id, since=None)

    rows = list(csv.DictReader(io.StringIO(render_csv(built).lstrip("\ufeff"))))
    assert {r["student"] for r in rows} == {"'" + name} and len(rows) >= 4
    answers = [r["answer"] for r in rows if r["kind"] == "answer" and r["answer"]]
    assert answers == ["'" + text for text in dangerous[:3]]
    data = json.loads(render_json(built))
    kept = [a["answer"] for run in data["students"][0]["runs"] for a in run["answers"]]
    assert [a for a in kept if a] == dangerous[:3]
    assert data["students"][0]["name"] == name
    assert name in "\n".join(render_text(built, translator("en")))


async def test_removing_a_counselor_unlinks_them_and_hands_the_students_over(
    harness: Harness,
) -> None:
    sato = await harness.counselor("Sato")
    tanaka = await harness.counselor("Tanaka")
    student_id = await harness.student(sato, "s1", name="Linh")
    result = await admin.remove_counselor(
        harness.engine, counselor_id=sato.id, hand_over_to=tanaka.id
    )
    assert (result["unlinked_accounts"], result["students_handed_over"]) == (1, 1)
    replies = await harness.say(sato.user, "/students")  # the old chat is a stranger now
    assert "To join" in replies[0].text
    listing = joined(await harness.say(tanaka.user, "/students"))
    assert f"#{student_id} Linh" in listing
    async with harness.engine.db.uow() as uow:
        [entry] = [e for e in await uow.audit.entries() if e.action == "counselor.removed"]
        assert entry.detail["students_handed_over"] == 1 and entry.detail["to"] == tanaka.id


async def test_removing_a_counselor_can_keep_their_students_readable_from_the_cli(
    harness: Harness,
) -> None:
    sato = await harness.counselor("Sato")
    student_id = await harness.student(sato, "s1", name="Linh")
    await harness.session(sato, student_id)
    await harness.say("s1", "/skip")
    await harness.say("s1", "kept for the record")
    await admin.remove_counselor(harness.engine, counselor_id=sato.id, hand_over_to=None)
    built = await admin.digest(harness.engine, counselor_id=sato.id, since=None)
    assert "kept for the record" in "\n".join(render_text(built, translator("en")))


async def test_typing_the_yes_buttons_own_words_counts_as_yes(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", name="Lan", locale="vi")
    await harness.session(counselor, student_id)
    for _ in range(5):
        await harness.say("s1", "/skip")
    await harness.say("s1", "có, tôi muốn")  # the words of the Yes button, typed
    alert = harness.texts(counselor.user)[-1]
    assert alert.startswith(f"Lan (#{student_id}) would like to talk with you again.")
