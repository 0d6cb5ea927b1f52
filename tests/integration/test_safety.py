"""A message that suggests danger, at any point: help contacts for the student at once and
in their language, an honest word on what happens next, the open question set paused (no
next question, no reminder, no summary quoting the words) until /resume or a new session,
an alert to the counselor at once in the counselor's language (naming the student, never
quoting them), and the digest marks the student urgent. Ordinary career talk raises nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db.models import Answer, AuditEntry, Run, Student
from bot.engine.events import Kind
from bot.i18n import translator
from handlers import admin
from tests.harness import Counselor, Harness
from tests.stored import rows_of, stored_text

CRISIS = {
    "en": "Honestly, sometimes I want to die.",
    "ja": "就活がうまくいかなくて、もう死にたいと思うことがある。",
    "zh_Hans": "找不到工作，我有时候不想活了。",
    "ko": "요즘은 가끔 죽고 싶어요.",
    "vi": "Đôi khi tôi muốn chết vì áp lực.",
    "id": "Kadang saya ingin mati saja.",
    "ne": "कहिलेकाहीँ आत्महत्या गर्ने सोच आउँछ।",
}
ORDINARY = [
    "I want to work for a trading company in Osaka.",
    "The interview killed it, I think it went well!",
    "My visa expires in March, so I need to hurry.",
    "締め切りが多くて死ぬほど忙しいけど、面接は楽しかった。",
    "我想在日本的IT公司工作。",
    "취업 준비가 힘들지만 재미있어요.",
    "Tôi muốn làm việc ở Nhật sau khi tốt nghiệp.",
    "Saya ingin bekerja di perusahaan Jepang.",
    "म जापानमा काम गर्न चाहन्छु।",
    "I will kill two birds with one stone: study and part-time work.",
]
URGENT_FLAG = "URGENT: may be in danger"
TOLD = "I have let your counselor know that you may need help."
PAUSED = "I will not send you more questions for now. When you want to go on, send /resume."
NO_OPEN_QUESTION = "There is no open question right now"


async def _in_reflection(harness: Harness, locale: str = "en") -> tuple[Counselor, int]:
    counselor = await harness.counselor(name="Sato")
    student_id = await harness.student(counselor, "s1", name="Linh", locale=locale)
    await harness.session(counselor, student_id)
    await harness.press("s1", translator(locale)._("Skip"))  # the topics question
    return counselor, student_id


def _help_shown(texts: list[str]) -> bool:
    return any("119" in text and "110" in text for text in texts)


async def _student(harness: Harness, student_id: int) -> Student:
    [student] = await rows_of(harness.engine.db, Student, id=student_id)
    return student


@pytest.mark.parametrize("language", sorted(CRISIS))
async def test_a_crisis_answer_brings_help_pauses_the_set_and_alerts_the_counselor(
    harness: Harness, language: str
) -> None:
    counselor, student_id = await _in_reflection(harness)
    alerts_before = len(harness.texts(counselor.user))
    replies = await harness.say("s1", CRISIS[language])

    [help_] = replies  # no next question, no routine line after the help
    assert "I am not watched in real time" in help_.text and "emergency" in help_.text
    assert "Emergency (ambulance / fire): 119 (24 hours)" in help_.text
    assert "Police: 110" in help_.text and "050-3816-2787" in help_.text
    assert TOLD in help_.text and "the contacts above are the fastest way" in help_.text
    assert help_.text.endswith(PAUSED)

    [alert] = harness.texts(counselor.user)[alerts_before:]  # at once: no tick, no digest
    assert alert.startswith("Urgent: an answer from Linh may mean they are in danger.")
    assert "paused until they send /resume or you log a new session" in alert
    assert CRISIS[language] not in alert

    [answer] = [a for a in await rows_of(harness.engine.db, Answer) if a.text]
    assert answer.urgent and answer.text == CRISIS[language]
    digest = "\n".join(r.text for r in await harness.say(counselor.user, "/digest"))
    assert URGENT_FLAG in digest and "⚠ " in digest and CRISIS[language] in digest
    [audit] = await rows_of(harness.engine.db, AuditEntry, action="safety.alert")
    assert audit.subject == f"student:{student_id}"
    assert CRISIS[language] not in str(audit.detail)


async def test_the_paused_set_sends_no_reminder_and_does_not_expire(harness: Harness) -> None:
    counselor, _ = await _in_reflection(harness)
    await harness.say("s1", CRISIS["en"])
    sent = len(harness.texts("s1"))
    for _ in range(10):  # past the reminder (24 h), the expiry (7 d) and both follow-ups
        await harness.advance(timedelta(days=1))
    assert harness.texts("s1")[sent:] == []
    [run] = [r for r in await rows_of(harness.engine.db, Run) if r.set_id == "reflection"]
    assert (run.state, run.step) == ("active", 2)  # waiting where the student stopped
    assert (
        "paused after an urgent message" in (await harness.say(counselor.user, "/students"))[0].text
    )

    replies = await harness.say("s1", "/resume")
    assert replies[0].text == "Welcome back. I will send you questions again."
    assert replies[-1].text.startswith("(3/7)")  # the set goes on where it stopped


async def test_while_paused_answers_are_not_taken(harness: Harness) -> None:
    await _in_reflection(harness)
    await harness.say("s1", CRISIS["en"])
    before = len(await rows_of(harness.engine.db, Answer))

    [reply] = await harness.say("s1", "Sorry, I am ok. Here is my answer.")
    assert reply.text.startswith("Your questions are paused, so I did not keep this message.")
    [reply] = await harness.say("s1", "/skip")
    assert reply.text == "Your questions are paused. When you want to go on, send /resume."
    assert len(await rows_of(harness.engine.db, Answer)) == before
    assert "Sorry, I am ok" not in await stored_text(harness.engine.db)


async def test_the_summary_never_quotes_the_words_that_suggested_danger(
    harness: Harness,
) -> None:
    await _in_reflection(harness)
    await harness.say("s1", "I noticed I talk too fast.")
    await harness.say("s1", "How long a visa change takes.")
    replies = await harness.say("s1", "Nothing. I want to end my life.")  # the 4th question
    assert len(replies) == 1 and "Here is what you wrote" not in replies[0].text

    replies = await harness.say("s1", "/resume")
    assert replies[-1].text.startswith("(5/7)")  # the set goes on where it stopped
    await harness.press("s1", "4")
    replies = await harness.say("s1", "I chose it myself.")
    summary = next(r.text for r in replies if r.text.startswith("Before the last question"))
    assert "I talk too fast" in summary and "end my life" not in summary
    assert replies[-1].text.startswith("(7/7)")


async def test_a_new_session_ends_the_pause(harness: Harness) -> None:
    counselor, student_id = await _in_reflection(harness)
    await harness.say("s1", CRISIS["en"])
    await harness.session(counselor, student_id, "interview")
    assert harness.texts("s1")[-1].startswith("(1/7)")  # the new reflection starts
    assert (await _student(harness, student_id)).pause_reason is None
    assert "The reflection questions were sent." in harness.texts(counselor.user)[-1]


async def test_a_crisis_message_between_sets_brings_help_and_an_alert_and_no_routine_line(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1", name="Linh")
    replies = await harness.say("s1", CRISIS["en"])
    [help_] = replies
    assert _help_shown([help_.text]) and TOLD in help_.text and help_.text.endswith(PAUSED)
    assert all(NO_OPEN_QUESTION not in text for text in harness.texts("s1"))
    alert = harness.texts(counselor.user)[-1]
    assert alert.startswith("Urgent: a message from Linh") and "was not kept" in alert
    assert CRISIS["en"] not in alert
    assert CRISIS["en"] not in await stored_text(harness.engine.db)

    # Nothing was kept, and still the digest marks the student urgent.
    digest = "\n".join(r.text for r in await harness.say(counselor.user, "/digest"))
    assert URGENT_FLAG in digest and CRISIS["en"] not in digest
    # The student's own export shows the one fact that was kept about it.
    exported = await admin.export_student(harness.engine, student_id=student_id, counselor_id=None)
    assert exported["student"]["paused_for"] == "crisis"
    assert exported["student"]["last_message_suggesting_danger_at"] is not None
    assert (await _student(harness, student_id)).pause_reason == "crisis"
    await harness.say("s1", "/resume")
    assert (await _student(harness, student_id)).pause_reason is None


async def test_before_consent_help_and_an_alert_but_nothing_kept(harness: Harness) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", consent=False)
    await harness.press("s1", "Continue")
    replies = await harness.say("s1", CRISIS["en"])
    [help_] = replies  # the help, not the consent form again
    assert _help_shown([help_.text]) and TOLD in help_.text
    assert PAUSED not in help_.text  # no questions were coming
    alert = harness.texts(counselor.user)[-1]
    assert alert.startswith("Urgent: a message from Linh")
    assert "have not given their consent, so their message was not kept" in alert
    assert CRISIS["en"] not in await stored_text(harness.engine.db)

    # Someone who has not joined at all gets the help too; nobody to tell.
    replies = await harness.say("stranger", CRISIS["ja"])
    assert _help_shown([replies[0].text]) and TOLD not in replies[0].text


async def test_help_in_the_students_language_alert_in_the_counselors(harness: Harness) -> None:
    counselor = await harness.counselor(name="佐藤", locale="ja")
    student_id = await harness.student(counselor, "s1", name="Linh", locale="vi")
    await harness.session(counselor, student_id)
    await harness.press("s1", translator("vi")._("Skip"))
    replies = await harness.say("s1", "toi muon chet")  # Vietnamese without its marks
    vi, ja = translator("vi"), translator("ja")
    assert replies[0].text.startswith(
        vi._(
            "Thank you for telling me. I am a bot and I am not watched in real time, "
            "so I cannot help in an emergency. If you are in danger or thinking about "
            "hurting yourself, please contact someone now:"
        )
    )
    assert f"{vi._('Police')}: 110" in replies[0].text
    assert harness.texts(counselor.user)[-1].startswith("緊急：Linh の回答から")
    assert ja._("paused after an urgent message") in "\n".join(
        r.text for r in await harness.say(counselor.user, "/students")
    )


async def test_the_alert_goes_out_at_once_even_at_night(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 4, 6, 18, 0, tzinfo=UTC))  # 03:00 in Tokyo
    counselor, _ = await _in_reflection(harness)
    before = len(harness.texts(counselor.user))
    await harness.say("s1", CRISIS["en"])
    assert len(harness.texts(counselor.user)) == before + 1  # no wait for the send window


async def test_a_counselor_without_a_chat_is_told_through_the_digest(harness: Harness) -> None:
    counselor_id, _ = await admin.add_counselor(
        harness.engine, name="Kato", locale="en", is_admin=False
    )
    code = await admin.create_invite(harness.engine, counselor_id=counselor_id, label="Mai")
    await harness.say("s1", f"/start {code}", locale_hint="en")
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data="lang:en"))
    await harness.send(harness.event("s1", kind=Kind.CHOICE, data="consent:yes"))
    [help_] = await harness.say("s1", CRISIS["en"])
    assert TOLD not in help_.text  # it would not be true
    assert "Your counselor will see that you may need help the next time" in help_.text
    digest = await admin.digest(harness.engine, counselor_id=counselor_id, since=None)
    assert [s.flags[0] for s in digest.students] == ["urgent"]


async def test_ordinary_career_talk_raises_nothing(harness: Harness) -> None:
    counselor = await harness.counselor()
    for n, text in enumerate(ORDINARY):
        user = f"s{n}"
        student_id = await harness.student(counselor, user, name=f"Student {n}")
        await harness.session(counselor, student_id)
        await harness.press(user, "Skip")
        replies = await harness.say(user, text)
        assert [r.text[:5] for r in replies] == ["(3/7)"], text
    assert not any("Urgent" in t for t in harness.texts(counselor.user))
    assert not any(a.urgent for a in await rows_of(harness.engine.db, Answer))
    digest = "\n".join(r.text for r in await harness.say(counselor.user, "/digest"))
    assert URGENT_FLAG not in digest and "⚠" not in digest
    assert await rows_of(harness.engine.db, AuditEntry, action="safety.alert") == []


async def test_an_answer_edited_into_a_crisis_alerts_once_and_pauses(harness: Harness) -> None:
    counselor, student_id = await _in_reflection(harness)
    event = harness.event("s1", "I am a bit tired of the job hunt.")
    await harness.send(event)
    alerts = len(harness.texts(counselor.user))
    edit = harness.event("s1", kind=Kind.EDIT, text=CRISIS["en"], message_id=event.message_id)
    replies = await harness.send(edit)
    assert _help_shown([r.text for r in replies])
    assert len(harness.texts(counselor.user)) == alerts + 1
    again = harness.event(
        "s1", kind=Kind.EDIT, text=CRISIS["en"] + "!", message_id=event.message_id
    )
    await harness.send(again)
    assert len(harness.texts(counselor.user)) == alerts + 1
    assert [a.urgent for a in await rows_of(harness.engine.db, Answer) if a.text] == [True]
    assert (await _student(harness, student_id)).pause_reason == "crisis"
