"""A message that suggests danger: help contacts for the student in their language, an alert
to the counselor at once (a message, without the student's words), the digest marks it
urgent. Ordinary career talk raises nothing."""

from __future__ import annotations

import pytest

from bot.db.models import Answer, AuditEntry
from bot.engine.events import Kind
from bot.i18n import SHIPPED_LOCALES, translator
from bot.prompts import load_prompts
from bot.safety import is_urgent
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


async def _in_reflection(harness: Harness, locale: str = "en") -> tuple[Counselor, int]:
    counselor = await harness.counselor(name="Sato")
    student_id = await harness.student(counselor, "s1", name="Linh", locale=locale)
    await harness.session(counselor, student_id)
    await harness.press("s1", translator(locale)._("Skip"))  # the topics question
    return counselor, student_id


def _help_shown(texts: list[str]) -> bool:
    return any("119" in text and "110" in text for text in texts)


@pytest.mark.parametrize("language", sorted(CRISIS))
async def test_a_crisis_phrase_brings_help_an_alert_and_an_urgent_flag(
    harness: Harness, language: str
) -> None:
    counselor, student_id = await _in_reflection(harness)
    alerts_before = len(harness.texts(counselor.user))
    replies = await harness.say("s1", CRISIS[language])

    help_text = replies[0].text
    assert "I am not watched in real time" in help_text and "emergency" in help_text
    assert "Emergency (ambulance / fire): 119 (24 hours)" in help_text
    assert "Police: 110" in help_text and "050-3816-2787" in help_text
    assert "I have also let your counselor know." in help_text
    assert replies[-1].text.startswith("(3/7)")  # the answer is kept and the questions go on

    [alert] = harness.texts(counselor.user)[alerts_before:]  # at once: no tick, no digest
    assert alert.startswith("Urgent: an answer from Linh may mean they are in danger.")
    assert CRISIS[language] not in alert

    [answer] = [a for a in await rows_of(harness.engine.db, Answer) if a.text]
    assert answer.urgent and answer.text == CRISIS[language]
    digest = "\n".join(r.text for r in await harness.say(counselor.user, "/digest"))
    assert URGENT_FLAG in digest and "⚠ " in digest and CRISIS[language] in digest
    [audit] = await rows_of(harness.engine.db, AuditEntry, action="safety.alert")
    assert audit.subject == f"student:{student_id}"
    assert CRISIS[language] not in str(audit.detail)


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


def test_every_shipped_language_has_crisis_phrases_that_match_themselves() -> None:
    safety = load_prompts().safety
    assert set(safety.phrases) == set(SHIPPED_LOCALES)
    for locale, phrases in safety.phrases.items():
        assert phrases, locale
        assert all(is_urgent(f"... {p} ...", safety.phrases) for p in phrases), locale
    for text in CRISIS.values():
        assert is_urgent(text, safety.phrases), text
    for text in ORDINARY:
        assert not is_urgent(text, safety.phrases), text
    assert all(c.source.startswith("https://") for c in safety.contacts)


async def test_the_help_is_in_the_students_language(harness: Harness) -> None:
    counselor, _ = await _in_reflection(harness, locale="ja")
    replies = await harness.say("s1", CRISIS["ja"])
    t = translator("ja")
    help_text = replies[0].text
    assert help_text.startswith(
        t._(
            "Thank you for telling me. I am a bot and I am not watched in real time, "
            "so I cannot help in an emergency. If you are in danger or thinking about "
            "hurting yourself, please contact someone now:"
        )
    )
    assert f"{t._('Police')}：110" in help_text  # Japanese punctuation in the contact line
    # The counselor reads the alert in their own language (English here).
    assert harness.texts(counselor.user)[-1].startswith("Urgent: an answer from Linh")


async def test_an_answer_edited_into_a_crisis_alerts_once(harness: Harness) -> None:
    counselor, _ = await _in_reflection(harness)
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


async def test_a_crisis_message_with_no_open_question_still_brings_help_and_an_alert(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", name="Linh")
    replies = await harness.say("s1", CRISIS["en"])
    assert _help_shown([replies[0].text])
    assert "There is no open question right now" in replies[-1].text
    alert = harness.texts(counselor.user)[-1]
    assert alert.startswith("Urgent: a message from Linh") and "was not kept" in alert
    assert CRISIS["en"] not in alert
    assert CRISIS["en"] not in await stored_text(harness.engine.db)


async def test_before_consent_help_is_shown_but_nothing_is_kept_or_shared(
    harness: Harness,
) -> None:
    counselor = await harness.counselor()
    await harness.student(counselor, "s1", consent=False)
    await harness.press("s1", "Continue")
    counselor_texts = len(harness.texts(counselor.user))
    replies = await harness.say("s1", CRISIS["en"])
    assert _help_shown([replies[0].text])
    assert "let your counselor know" not in replies[0].text
    assert replies[-1].text.startswith("Before we start")
    assert len(harness.texts(counselor.user)) == counselor_texts
    assert CRISIS["en"] not in await stored_text(harness.engine.db)

    # Someone who has not joined at all gets the help too.
    replies = await harness.say("stranger", CRISIS["ja"])
    assert _help_shown([replies[0].text]) and "To join" in replies[-1].text
