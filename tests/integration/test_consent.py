"""Consent comes first: before it nothing but the consent state is kept, and it can be
withdrawn (no more messages, nothing new kept, deletion offered)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from bot.db.models import Answer, AuditEntry, InboxEvent, OutboxMessage, Run, Student
from bot.engine.events import Kind
from tests.harness import Counselor, Harness
from tests.stored import all_rows, rows_of, stored_text

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


async def test_consent_text_says_what_who_how_long_how_to_delete(harness: Harness) -> None:
    await _pending_student(harness)
    request = harness.last("s1")
    text = request.text
    assert "your answers to my questions" in text  # what
    assert "only your counselor, Sato" in text  # who reads them
    assert "365 days at most" in text  # how long (FURIKAERI_RETENTION_DAYS)
    assert "/forget" in text and "/mydata" in text  # how to delete, how to get a copy
    assert "not watched in real time" in text and "not an emergency service" in text
    assert [b.data for b in request.buttons] == ["consent:yes", "consent:no"]


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
    assert "only your counselor, Sato" in reply.text and "365 days" in reply.text
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
