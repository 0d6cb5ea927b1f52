"""Bad input gets a clear answer and changes nothing else; odd text is kept exactly."""

from __future__ import annotations

from bot.engine.events import Kind
from tests.harness import Harness


async def _student_in_reflection(harness: Harness) -> int:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    return student_id


async def _texts(harness: Harness, student_id: int) -> list[str | None]:
    async with harness.engine.db.uow() as uow:
        return [a.text for a in await uow.answers.of_student(student_id)]


async def test_a_10000_character_answer_is_kept_whole(harness: Harness) -> None:
    student_id = await _student_in_reflection(harness)
    long_text = ("長い答え。" * 1000 + "\n" + "x" * 5000)[:10_000]
    await harness.say("s1", long_text)
    assert await _texts(harness, student_id) == [long_text]


async def test_emoji_and_mixed_scripts_are_kept_byte_exact(harness: Harness) -> None:
    student_id = await _student_in_reflection(harness)
    text = "面接 👩🏽‍💻 नमस्ते Xin chào မင်္ဂလာပါ 🇯🇵\u200d"
    await harness.say("s1", text)
    stored = await _texts(harness, student_id)
    assert stored == [text] and stored[0].encode() == text.encode()


async def test_burmese_typed_in_zawgyi_is_stored_as_received(harness: Harness) -> None:
    student_id = await _student_in_reflection(harness)
    zawgyi = "ျမန္မာျပည္မွာ အလုပ္လုပ္ခ်င္တယ္"  # Zawgyi-encoded; not valid Unicode Burmese order
    await harness.say("s1", zawgyi)
    assert await _texts(harness, student_id) == [zawgyi]


async def test_empty_text_is_refused_without_advancing(harness: Harness) -> None:
    student_id = await _student_in_reflection(harness)
    replies = await harness.say("s1", "   ")
    assert "empty" in replies[0].text
    assert await _texts(harness, student_id) == []


async def test_media_gets_a_request_for_text(harness: Harness) -> None:
    student_id = await _student_in_reflection(harness)
    for media in ("sticker", "photo", "voice", "location"):
        replies = await harness.send(harness.event("s1", kind=Kind.MEDIA, media_type=media))
        assert replies[0].text == "Sorry, I can only read text. Please write your answer."
    assert await _texts(harness, student_id) == []


async def test_unknown_command_gets_help(harness: Harness) -> None:
    await _student_in_reflection(harness)
    replies = await harness.say("s1", "/dance")
    assert "I do not know that command." in replies[0].text
    assert "/journal" in replies[1].text


async def test_a_stranger_gets_how_to_join_and_nothing_is_stored(harness: Harness) -> None:
    replies = await harness.say("nobody", "hello?")
    assert "/start CODE" in replies[0].text
    replies = await harness.say("nobody", "/start not-a-real-code-0123456789")
    assert "not valid" in replies[0].text
    async with harness.engine.db.uow() as uow:
        assert await uow.accounts.find("test", "nobody") is None


async def test_group_chats_are_refused(harness: Harness) -> None:
    replies = await harness.send(harness.event("g1", kind=Kind.GROUP))
    assert "private 1:1 chats" in replies[0].text


async def test_a_used_invite_code_does_not_work_twice(harness: Harness) -> None:
    from handlers import admin

    counselor = await harness.counselor()
    code = await admin.create_invite(harness.engine, counselor_id=counselor.id, label="A")
    await harness.say("s1", f"/start {code}")
    replies = await harness.say("s2", f"/start {code}")
    assert "not valid" in replies[0].text


async def test_a_nul_character_is_stored_not_lost(harness: Harness) -> None:
    """PostgreSQL cannot store NUL in text: it becomes U+FFFD there, instead of failing the
    event and losing the answer. SQLite keeps it as written."""
    counselor = await harness.counselor()
    await harness.say(counselor.user, "/invite Li\x00nh")
    code = harness.texts(counselor.user)[-1].splitlines()[1]
    await harness.say("s1", f"/start {code}", locale_hint="en")
    await harness.press("s1", "Continue")
    await harness.press("s1", "I agree")
    async with harness.engine.db.uow() as uow:
        [student] = await uow.students.list_for_counselor(counselor.id)
        student_id, label = student.id, student.label
    await harness.session(counselor, student_id)
    replies = await harness.say("s1", "before\x00after")
    assert replies[-1].text.startswith("(2/7)")  # handled, and the next question came
    kept = "\ufffd" if harness.engine.db.engine.dialect.name == "postgresql" else "\x00"
    assert await _texts(harness, student_id) == [f"before{kept}after"]
    assert label == f"Li{kept}nh"
    digest = "\n".join(m.text for m in await harness.say(counselor.user, "/digest"))
    assert f": before{kept}after" in digest
