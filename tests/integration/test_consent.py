"""Consent comes first: before it nothing but the consent state is kept, and it can be
withdrawn (no more messages, nothing new kept, deletion offered)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import pytest

from bot.db.models import Answer, AuditEntry, InboxEvent, OutboxMessage, Run, Student
from bot.engine.events import Kind
from bot.i18n import SHIPPED_LOCALES, translator
from handlers import admin
from tests.harness import Counselor, Harness
from tests.stored import all_rows, rows_of, sqlite_bytes, stored_text

T = TypeVar("T")
PRIVATE = "my visa expires in May and I am scared 7c1f"


async def _pending_student(harness: Harness) -> tuple[Counselor, int]:
    """A student who joined and chose the language but has not answered the consent."""
    counselor = await harness.counselor(name="Sato")
    student_id = await harness.student(counselor, "s1", consent=False)
    await harness.press("s1", "Continue")
    return counselor, student_id


async def _rows(harness: Harness, model: type[T]) -> list[T]:
    return await rows_of(harness.engine.db, model)


async def test_consent_text_says_why_what_who_how_long_how_to_delete(harness: Harness) -> None:
    await _pending_student(harness)
    request = harness.last("s1")
    text = request.text
    assert "so that you can look back on your counseling" in text  # the purpose (APPI)
    assert "your choice" in text and "your counseling stays the same" in text  # voluntary
    assert "your answers and when you sent them" in text  # what is kept...
    assert "the dates and topics of your sessions" in text  # ...including what counselors log
    assert "your counselor, Sato, and the administrators who run this bot" in text  # who
    assert "in danger, I tell your counselor at once" in text  # the safety alert
    assert "each answer 365 days after you send it" in text  # FURIKAERI_RETENTION_DAYS
    assert "/journal" in text and "/mydata" in text and "/forget" in text  # read, copy, delete
    assert "not watched in real time" in text and "not an emergency service" in text
    assert [b.data for b in request.buttons] == ["consent:yes", "consent:no"]


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
async def test_the_consent_text_is_complete_in_every_language(sqlite_url: str, locale: str) -> None:
    harness = await Harness.create(sqlite_url, retention_days=180)
    try:
        counselor = await harness.counselor(name="Sato")
        await harness.student(counselor, "s1", locale=locale, consent=False)
        await harness.send(harness.event("s1", kind=Kind.CHOICE, data=f"lang:{locale}"))
        consent = harness.last("s1").text
        privacy = (await harness.say("s1", "/privacy"))[-1].text
    finally:
        await harness.close()
    english = translator("en")
    for text in (consent, privacy):
        assert "Sato" in text and "180" in text
        assert all(command in text for command in ("/journal", "/mydata", "/forget"))
        assert text.count("\n•") >= 7, text  # every point, each on its own line
        if locale != "en":
            assert (
                english._(
                    "• Taking part is your choice. If you say no, your counseling stays the same."
                )
                not in text
            )


async def test_stop_says_how_long_answers_stay(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1")
    [reply] = await harness.say("s1", "/stop")
    assert "stay with your counselor for up to 365 days" in reply.text
    assert "until you delete them" not in reply.text and "/forget" in reply.text


async def test_before_consent_nothing_but_the_consent_state_is_stored(harness: Harness) -> None:
    counselor, student_id = await _pending_student(harness)
    await harness.session(counselor, student_id)  # questions wait for the consent
    assert "sent when the student can receive them" in harness.texts(counselor.user)[-1]

    texts_before = len(harness.texts("s1"))
    text_event = harness.event("s1", PRIVATE)
    replies = await harness.send(text_event)
    assert replies[-1].text.startswith("Before we start")  # asked for consent, not stored
    await harness.send(
        harness.event("s1", kind=Kind.EDIT, text=PRIVATE + " edited", message_id="e1")
    )
    runs = await _rows(harness, Run)
    forged = f"a:{runs[0].id}:0:visa"
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data=forged))
    for command in ("/skip", "/journal", "/pause 3", "/timezone Asia/Seoul"):
        reply = (await harness.say("s1", command))[-1]
        assert reply.text.startswith("Before we start"), command
    assert len(harness.texts("s1")) > texts_before

    assert await _rows(harness, Answer) == []
    inbox = await _rows(harness, InboxEvent)
    assert inbox and all(e.status == "done" and e.payload is None for e in inbox)
    assert all(r.state == "scheduled" and r.asked_at is None for r in await _rows(harness, Run))
    [student] = await _rows(harness, Student)
    assert (student.consent, student.timezone, student.paused_until) == (
        "pending",
        "Asia/Tokyo",
        None,
    )
    stored = await stored_text(harness.engine.db)
    assert "visa expires in May" not in stored and "7c1f" not in stored
    outbox = await _rows(harness, OutboxMessage)
    assert outbox and all(m.payload is None for m in outbox if m.chat_id == "s1")


async def test_before_consent_what_is_typed_never_reaches_the_sqlite_files(
    sqlite_url: str,
) -> None:
    harness = await Harness.create(sqlite_url)
    try:
        counselor, student_id = await _pending_student(harness)
        await harness.session(counselor, student_id)
        await harness.say("s1", PRIVATE)
        await harness.send(
            harness.event("s1", kind=Kind.EDIT, text=PRIVATE + " edited", message_id="e1")
        )
        await harness.say("s1", "/journal my own words 5d2a")
        await harness.say("x9", "a stranger writes 91bf")
        # A cry for help is read (the help contacts come at once), then wiped from the files.
        replies = await harness.say("s1", "sometimes I think about suicide 0e4c")
        assert replies[0].text.startswith("Thank you for telling me.")
        # A code is read to join, then wiped too.
        code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="Ana")
        await harness.say("s2", code, locale_hint="en")
        assert harness.texts("s2")[-1].startswith("Hello!")

        raw = sqlite_bytes(sqlite_url)  # the app is running: nothing closed the files
        # Words with their markers: a bare 4-hex marker also turns up by chance in the ids
        # and keys the files hold (about 1 in 120 of all 4-hex strings did).
        for typed in ("scared 7c1f", "words 5d2a", "writes 91bf", "suicide 0e4c", code):
            assert typed.encode() not in raw, typed
        assert await _rows(harness, Answer) == []
    finally:
        await harness.close()


async def test_an_answer_typed_right_after_agreeing_is_kept(harness: Harness) -> None:
    counselor, student_id = await _pending_student(harness)
    await harness.session(counselor, student_id)
    # Both arrive before either is handled: the answer is not mistaken for a stranger's.
    for event in (
        harness.event("s1", kind=Kind.CHOICE, data="consent:yes"),
        harness.event("s1", "I noticed I was calm 2b7e"),
    ):
        await harness.engine.receive(event)
    await harness.engine.drain()
    assert "I noticed I was calm 2b7e" in [a.text for a in await _rows(harness, Answer)]


async def test_agreeing_starts_the_reflection_that_was_waiting(harness: Harness) -> None:
    counselor, student_id = await _pending_student(harness)
    await harness.session(counselor, student_id)
    replies = await harness.press("s1", "I agree")
    assert replies[0].text.startswith("Thank you!")
    assert any("(1/7)" in r.text for r in replies)
    await harness.say("s1", PRIVATE)
    assert [a.text for a in await _rows(harness, Answer)] == [PRIVATE]
    actions = [e.action for e in await _rows(harness, AuditEntry)]
    assert "consent.given" in actions


async def test_declining_keeps_nothing_and_can_be_changed_later(harness: Harness) -> None:
    counselor, _ = await _pending_student(harness)
    replies = await harness.press("s1", "No, thanks")
    assert "keep nothing" in replies[-1].text
    replies = await harness.say("s1", PRIVATE)
    assert replies[-1].text.startswith("Before we start")
    assert await _rows(harness, Answer) == []
    students = "\n".join(m.text for m in await harness.say(counselor.user, "/students"))
    assert "declined" in students
    await harness.say("s1", "/start")
    await harness.press("s1", "I agree")
    [student] = await _rows(harness, Student)
    assert student.consent == "given"


async def test_privacy_shows_the_terms_again_and_offers_withdrawal(harness: Harness) -> None:
    counselor = await harness.counselor(name="Sato")
    await harness.student(counselor, "s1")
    [reply] = await harness.say("s1", "/privacy")
    assert "your counselor, Sato, and the administrators" in reply.text
    assert "365 days" in reply.text and "your choice" in reply.text
    assert "not watched in real time" in reply.text and "not an emergency service" in reply.text
    assert "/forget" in reply.text
    assert "Do you agree?" not in reply.text
    assert [(b.label, b.data) for b in reply.buttons] == [("Withdraw consent", "consent:withdraw")]


async def _student_mid_reflection(harness: Harness) -> tuple[Counselor, int]:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await harness.say("s1", "Interviews, I think")
    return counselor, student_id


async def test_withdrawing_consent_stops_sending_and_offers_deletion(harness: Harness) -> None:
    counselor, student_id = await _student_mid_reflection(harness)
    await harness.say("s1", "/privacy")
    [reply] = await harness.press("s1", "Withdraw consent")
    assert "consent is withdrawn" in reply.text
    assert "keep nothing new" in reply.text and "/start" in reply.text
    assert "stay with your counselor for up to 365 days" in reply.text
    assert [b.data for b in reply.buttons] == ["forget:yes", "forget:no"]

    [student] = await _rows(harness, Student)
    assert student.consent == "withdrawn"
    assert {r.state for r in await _rows(harness, Run)} == {"cancelled"}
    pending = [m for m in await _rows(harness, OutboxMessage) if m.status == "pending"]
    assert pending == []

    # The follow-ups that were planned (two and five days later) never come.
    sent_before = len(harness.texts("s1"))
    for _ in range(3):
        await harness.advance(timedelta(days=3))
    assert len(harness.texts("s1")) == sent_before

    # Nothing new is kept; the earlier answer stays until the student deletes it.
    replies = await harness.say("s1", PRIVATE)
    assert replies[-1].text.startswith("Before we start")
    assert [a.text for a in await _rows(harness, Answer)] == ["Interviews, I think"]
    assert "withdrew consent" in (await harness.say(counselor.user, "/students"))[-1].text
    audit = [(e.action, e.subject) for e in await _rows(harness, AuditEntry)]
    assert ("consent.withdrawn", f"student:{student_id}") in audit


async def test_after_withdrawal_the_offered_deletion_deletes(harness: Harness) -> None:
    await _student_mid_reflection(harness)
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data="consent:withdraw"))
    [reply] = await harness.press("s1", "Delete everything")
    assert reply.text.startswith("Everything is deleted")
    assert await _rows(harness, Answer) == [] and await _rows(harness, Student) == []


async def test_after_withdrawal_keeping_the_answers_keeps_them(harness: Harness) -> None:
    await _student_mid_reflection(harness)
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data="consent:withdraw"))
    [reply] = await harness.press("s1", "Keep them")
    assert reply.text == "Nothing was deleted."
    assert [a.text for a in await _rows(harness, Answer)] == ["Interviews, I think"]
    # A copy is still available after withdrawal.
    replies = await harness.say("s1", "/mydata")
    assert "Interviews, I think" in replies[0].text


async def test_no_thanks_on_an_old_consent_message_withdraws(harness: Harness) -> None:
    await _student_mid_reflection(harness)
    replies = await harness.send(harness.event("s1", kind=Kind.CHOICE, data="consent:no"))
    assert "consent is withdrawn" in replies[-1].text
    [student] = await _rows(harness, Student)
    assert student.consent == "withdrawn"


async def test_consenting_again_after_withdrawal_resumes_with_the_next_session(
    harness: Harness,
) -> None:
    counselor, student_id = await _student_mid_reflection(harness)
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data="consent:withdraw"))
    await harness.say("s1", "/start")
    await harness.press("s1", "I agree")
    [student] = await _rows(harness, Student)
    assert student.consent == "given"
    await harness.session(counselor, student_id)
    assert "(1/7)" in harness.texts("s1")[-1]
    rows = await all_rows(harness.engine.db)
    actions = [row["action"] for row in rows["audit_log"]]
    assert actions.count("consent.given") == 2 and "consent.withdrawn" in actions
