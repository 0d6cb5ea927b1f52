"""Nothing of a deleted student is left: no unsent message quoting them goes out, the audit
log keeps only the facts, and no table holds their chat id. Through the real Telegram SDK,
the webhook and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta

from bot.db.models import AuditEntry, OutboxMessage
from tests.e2e.world import World
from tests.fakes.telegram_api import FakeTelegram
from tests.stored import stored_text

COUNSELOR = 100
STUDENT = 987_654_321  # a chat id that cannot turn up by chance in other values
OTHER = 555_000_111
# One long answer: the digest quotes it in parts, none of which is the whole answer.
LONG_ANSWER = " ".join(f"w{n:05d}" for n in range(1_430))[:10_000]


async def _counselor(world: World) -> None:
    _, link = await world.add_counselor("Sato")
    await world.tg_say(COUNSELOR, f"/start {link}")


async def _student_answering(world: World, user: int, name: str) -> None:
    """Invite, join, consent; a session is logged and the first question answered."""
    await world.tg_say(COUNSELOR, f"/invite {name}")
    code = world.tg_texts(COUNSELOR)[-1].splitlines()[1]
    await world.tg_say(user, f"/start {code}")
    await world.tg_press(user, "Continue")
    await world.tg_press(user, "I agree")
    await world.tg_say(COUNSELOR, "/session")
    await world.tg_press(COUNSELOR, name)
    await world.tg_press(COUNSELOR, "Visa / status")
    await world.tg_press(COUNSELOR, "Interviews")  # two topics: the first question offers both
    await world.tg_press(COUNSELOR, "Done")
    await world.tg_press(user, "Visa / status")


async def _forget(world: World) -> None:
    await world.tg_say(STUDENT, "/forget")
    await world.tg_press(STUDENT, "Delete everything")
    assert world.tg_texts(STUDENT)[-1].startswith("Everything is deleted")


def _counselor_got(tg: FakeTelegram, since: int) -> str:
    return "\n".join(m.get("text", "") for m in tg.sent_messages(COUNSELOR)[since:])


async def test_an_unsent_digest_chunk_quoting_part_of_a_long_answer_is_never_delivered(
    both_channels: World, tg: FakeTelegram
) -> None:
    world = both_channels
    await _counselor(world)
    await _student_answering(world, STUDENT, "Linh")
    await _student_answering(world, OTHER, "Minh")
    before = len(tg.sent_messages(COUNSELOR))
    await world.tg_say(STUDENT, LONG_ANSWER)
    await world.tg_say(OTHER, "Minh's own answer 5e21")

    await world.tg_say(COUNSELOR, "/digest Linh")  # her detail, a page at a time
    assert world.tg_texts(COUNSELOR)[-1].endswith("Page 1 of 4")
    # Telegram holds the counselor's chat back: the next page waits in the outbox.
    tg.fail_next("editMessageText", status=429, retry_after=30, chat_id=COUNSELOR)
    await world.tg_press(COUNSELOR, "Next ▶")
    waiting = [
        r for r in await world.rows(OutboxMessage, chat_id=str(COUNSELOR)) if r.status == "pending"
    ]
    quoted = [m["text"] for r in waiting for m in r.payload["messages"]]
    assert any(LONG_ANSWER[1_000:1_100] in text for text in quoted)  # part of the answer
    assert all(LONG_ANSWER not in text for text in quoted)  # a page holds only part of it
    assert LONG_ANSWER[1_000:1_100] not in _counselor_got(tg, before)

    await _forget(world)
    await world.tick(timedelta(minutes=5))  # past Telegram's retry_after
    await world.tick(timedelta(minutes=5))

    delivered = _counselor_got(tg, before)
    for start in range(0, len(LONG_ANSWER), 500):
        assert LONG_ANSWER[start : start + 40] not in delivered
    # A digest asked for again still has the other student's answer.
    await world.tg_say(COUNSELOR, "/digest 7d")
    assert "Minh's own answer 5e21" in world.tg_texts(COUNSELOR)[-1]


async def test_after_deletion_no_table_holds_the_chat_id_and_the_audit_keeps_only_facts(
    both_channels: World, tg: FakeTelegram
) -> None:
    world = both_channels
    await _counselor(world)
    await _student_answering(world, STUDENT, "Linh")
    await world.tg_say(STUDENT, "An answer 77aa")
    await world.tg_say(STUDENT, "/mydata")
    await world.tg_say(COUNSELOR, "/digest")
    stored = await stored_text(world.running.db)
    assert str(STUDENT) in stored and '"visa"' in stored  # the searches can find them

    await _forget(world)
    await world.settle()

    stored = await stored_text(world.running.db)
    assert str(STUDENT) not in stored
    assert "77aa" not in stored
    audit = await world.rows(AuditEntry)
    about = [e for e in audit if e.subject.startswith("student:")]
    actions = {e.action for e in about}
    assert {"consent.given", "session.logged", "data.exported", "data.deleted"} <= actions
    assert all(e.detail == {} for e in about), [e.detail for e in about]
    assert all("visa" not in str(e.detail) for e in audit)
