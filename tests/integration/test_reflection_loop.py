"""The whole reflection loop through the real engine, handlers and database."""

from __future__ import annotations

import pytest

from bot.engine.events import Kind
from bot.i18n import translator
from handlers import admin
from handlers.digest.render import render_csv, render_json, render_text
from tests.harness import Harness

ANSWERS = {
    "en": ["I noticed I get nervous about my strengths.", "How the visa changes.", "Nothing yet"],
    "ja": ["強みを話すとき緊張すると気づいた。", "内定後のビザの変更。", "まだない"],
}


@pytest.mark.parametrize("locale", ["en", "ja"])
async def test_student_answers_reach_the_counselors_digest(harness: Harness, locale: str) -> None:
    counselor = await harness.counselor(locale=locale)
    student_id = await harness.student(counselor, "s1", locale=locale)
    await harness.say(counselor.user, f"/session {student_id} visa,interview")

    first = harness.last("s1")
    labels = [b.label for b in first.buttons]
    t = translator(locale)
    assert labels == [t._("Visa / status"), t._("Interviews"), t._("Skip")]
    await harness.press("s1", t._("Interviews"))
    for answer in ANSWERS[locale]:
        await harness.say("s1", answer)
    mirror = harness.texts("s1")[-2]
    assert all(answer in mirror for answer in ANSWERS[locale])
    await harness.press("s1", t._("Yes"))
    assert harness.texts("s1")[-1] == t._(harness.engine.prompts.sets["reflection"].outro)

    digest = "\n".join(m.text for m in await harness.say(counselor.user, "/digest"))
    for answer in ANSWERS[locale]:
        assert answer in digest
    assert t._("wants to talk") in digest
    assert t._("Job interviews") in digest


async def test_digest_renders_as_csv_with_bom_and_json(harness: Harness) -> None:
    counselor = await harness.counselor(locale="ja")
    student_id = await harness.student(counselor, "s1", locale="ja")
    await harness.session(counselor, student_id, "visa")
    await harness.say("s1", "ビザのことがよく分かりました 🙂")
    built = await admin.digest(harness.engine, counselor_id=counselor.id, since=None)
    csv_text = render_csv(built)
    assert csv_text.startswith("\ufeff")
    assert "ビザのことがよく分かりました 🙂" in csv_text
    assert "ビザのことがよく分かりました 🙂" in render_json(built)
    assert "ビザのことがよく分かりました 🙂" in "\n".join(render_text(built, translator("ja")))


async def test_next_digest_shows_only_what_is_new(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await harness.say("s1", "first answer")
    await harness.say(counselor.user, "/digest")
    assert "first answer" in harness.texts(counselor.user)[-1]
    from datetime import timedelta

    harness.clock.advance(timedelta(minutes=5))
    await harness.say("s1", "second answer")
    text = "\n".join(m.text for m in await harness.say(counselor.user, "/digest"))
    assert "second answer" in text and "first answer" not in text


async def test_skip_and_resume_where_it_stopped(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    await harness.say("s1", "/skip")  # topics
    assert "(2/5)" in harness.texts("s1")[-1]
    await harness.press("s1", "Skip")
    assert "(3/5)" in harness.texts("s1")[-1]
    # A press on an old keyboard changes nothing.
    stale = harness.channel.sent["s1"][-3].buttons[0].data
    replies = await harness.send(harness.event("s1", kind=Kind.CHOICE, data=stale))
    assert replies and "closed" in replies[0].text
    assert "(3/5)" in harness.texts("s1")[-2]
