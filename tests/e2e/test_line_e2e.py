"""LINE end to end: signed webhooks posted to the real app, line-bot-sdk against the fake
Messaging API, replies while a reply token is fresh and pushes otherwise."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.db.models import Answer, InboxEvent, OutboxMessage, Student
from tests.e2e.world import World, eventually, world_settings
from tests.fakes.line_api import (
    LineApiFake,
    line_event_follow,
    line_event_media,
    line_event_text,
    line_event_unfollow,
)
from tests.fakes.server import LocalServer
from tests.fakes.telegram_api import FakeTelegram

COUNSELOR = "Uc0ffee00000000000000000000000001"
STUDENT = "Ub0a7d000000000000000000000000002"
TG_COUNSELOR = 100
MakeWorld = Callable[..., Awaitable[World]]
TEXT_PLEASE = "Sorry, I can only read text. Please write your answer."


@pytest.fixture
async def world(
    make_world: MakeWorld,
    database_url: str,
    line: LineApiFake,
    line_server: tuple[LocalServer, Any],
) -> World:
    return await make_world(world_settings(database_url, line=line_server[0]), line=line)


async def add_bot(world: World, user: str) -> None:
    """The user adds the bot as a friend: a follow event with a fresh reply token."""
    assert world.line is not None
    token = world.line.issue_reply_token(user)
    assert (
        await world.line_post(
            line_event_follow(user, reply_token=token, timestamp_ms=world.line_ms())
        )
        == 200
    )


async def link_counselor(world: World, name: str = "Sato") -> int:
    """The counselor adds the bot and sends the link code as plain text."""
    counselor_id, link_code = await world.add_counselor(name)
    await add_bot(world, COUNSELOR)
    await world.line_say(COUNSELOR, link_code)
    assert f"Your chat account is now linked, {name}." in world.line_texts(COUNSELOR)
    return counselor_id


async def invite(world: World, name: str = "Mai") -> str:
    await world.line_say(COUNSELOR, f"/invite {name}")
    text = world.line_texts(COUNSELOR)[-1]
    assert f"Invite code for {name}:" in text
    return text.splitlines()[1]


async def join(world: World, code: str, *, as_text: str = "{code}") -> None:
    """Add the bot (the profile says English), send the code, confirm, consent."""
    assert world.line is not None
    world.line.set_profile(STUDENT, "Mai", language="en")
    await add_bot(world, STUDENT)
    assert "To join" in world.line_texts(STUDENT)[-1]
    await world.line_say(STUDENT, as_text.format(code=code))
    assert world.line_texts(STUDENT)[-1] == "Hello! I will write to you in English."
    await world.line_press(STUDENT, "Continue")
    assert world.line_texts(STUDENT)[-1].startswith("Before we start, please read this.")
    await world.line_press(STUDENT, "I agree")
    assert world.line_texts(STUDENT)[-1].startswith("Thank you!")


async def log_session(world: World, *topics: str, student: str = "Mai") -> None:
    await world.line_say(COUNSELOR, "/session")
    await world.line_press(COUNSELOR, student)
    for topic in topics:
        await world.line_press(COUNSELOR, topic)
    await world.line_press(COUNSELOR, "Done")


async def enrolled(world: World) -> None:
    await link_counselor(world)
    await join(world, await invite(world))


def requests_to(fake: LineApiFake, endpoint: str, chat: str) -> list[Any]:
    """Accepted requests to `endpoint` that delivered to `chat`."""
    ids = {m.request_id for m in fake.all_messages(chat)}
    return [r for r in fake.requests(endpoint) if r.request_id in ids]


async def test_the_whole_loop_replies_first_and_pushes_what_nobody_asked_for(
    world: World, line: LineApiFake
) -> None:
    await enrolled(world)
    assert line.pushed(STUDENT) == []  # joining was all replies: free

    await world.line_say(COUNSELOR, "/session")
    await world.line_press(COUNSELOR, "Mai")
    picker = world.line_last(COUNSELOR)
    assert len(picker.buttons) == 13  # 12 topics and Done: a full LINE quick reply
    await world.line_press(COUNSELOR, "Visa / status")
    await world.line_press(COUNSELOR, "Résumé / entry sheet")
    picker = world.line_last(COUNSELOR)
    assert len(picker.buttons) == 13
    assert all(len(label) <= 20 for label, _ in picker.buttons)
    assert {"✓ Visa / status", "✓ Résumé / entry sh…"} <= {label for label, _ in picker.buttons}
    assert all(r.status == 200 for r in line.requests("reply"))
    await world.line_press(COUNSELOR, "Done")
    assert "Session logged for Mai" in world.line_texts(COUNSELOR)[-1]

    # The student did not ask: the reflection arrives as one push with the intro and Q1.
    [push] = requests_to(line, "push", STUDENT)
    assert [m["text"][:5] for m in push.body["messages"]][1] == "(1/7)"
    assert push.retry_key
    replies_before = len(requests_to(line, "reply", STUDENT))

    await world.line_press(STUDENT, "Visa / status")
    await world.line_say(STUDENT, "I noticed I like explaining my research.")
    await world.line_say(STUDENT, "Which visa I need for an internship.")
    await world.line_say(STUDENT, "Ask the international office 🙂")
    await world.line_press(STUDENT, "5")
    await world.line_say(STUDENT, "It was my idea.")
    await world.line_press(STUDENT, "Yes, I'd like to")
    assert world.line_texts(STUDENT)[-1] == (
        "Thank you for your answers. They are kept for you and your counselor."
    )
    # Every next question went out as the free reply to the answer before it.
    assert len(requests_to(line, "reply", STUDENT)) == replies_before + 7
    assert len(requests_to(line, "push", STUDENT)) == 1

    await world.line_say(COUNSELOR, "/digest")
    digest = world.line_texts(COUNSELOR)[-1]
    for expected in (
        "Mai (#1)",
        "wants to talk",
        "Most useful: Visa / status",
        "Noticed about themselves: I noticed I like explaining my research.",
        "Next step: Ask the international office 🙂",
    ):
        assert expected in digest
    # The Yes reached the counselor at once, as a push of its own; nothing else was pushed.
    [alert] = line.pushed(COUNSELOR)
    assert alert.text.startswith("Mai (#1) would like to talk with you again.")

    # Between sessions: the follow-up after two days and its reminder are pushes.
    await world.tick(timedelta(days=2))
    assert len(requests_to(line, "push", STUDENT)) == 2
    assert world.line_texts(STUDENT)[-1].startswith("(1/")
    await world.tick(timedelta(hours=24, minutes=1))
    assert len(requests_to(line, "push", STUDENT)) == 3
    assert world.line_texts(STUDENT)[-1].startswith("A reminder: this question is still open.")
    pushes = requests_to(line, "push", STUDENT)
    assert len({p.retry_key for p in pushes}) == 3  # each push its own X-Line-Retry-Key


async def test_a_redelivery_changes_nothing(world: World, line: LineApiFake) -> None:
    await enrolled(world)
    await log_session(world, "Visa / status", "Interviews")
    event = line_event_text(
        STUDENT,
        "The mock interview helped.",
        reply_token=line.issue_reply_token(STUDENT),
        timestamp_ms=world.line_ms(),
    )
    assert await world.line_post(event) == 200
    sent = len(line.all_messages(STUDENT))
    requests = len(line.requests("reply")) + len(line.requests("push"))

    again = {**event, "deliveryContext": {"isRedelivery": True}}
    assert await world.line_post(again) == 200

    assert [a.text for a in await world.rows(Answer)] == ["The mock interview helped."]
    assert len(line.all_messages(STUDENT)) == sent
    assert len(line.requests("reply")) + len(line.requests("push")) == requests
    assert len(await world.rows(InboxEvent, event_id=event["webhookEventId"])) == 1


async def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    world: World, line: LineApiFake
) -> None:
    assert world.client is not None
    _, link_code = await world.add_counselor()
    event = line_event_text(COUNSELOR, link_code, reply_token=line.issue_reply_token(COUNSELOR))
    assert await world.line_post(event, secret="someone-else's-secret") == 400
    body = json.dumps({"destination": "U0", "events": [event]}).encode()
    response = await world.client.post("/webhook/line", content=body)
    assert response.status_code == 400
    assert await world.rows(InboxEvent) == []
    assert line.requests("reply") == [] and line.requests("push") == []
    assert line.requests("profile") == []  # not even a profile lookup before the check
    assert await world.line_post(event) == 200  # the genuine event still links
    assert "Your chat account is now linked, Sato." in world.line_texts(COUNSELOR)


async def test_an_empty_verify_call_is_acknowledged(world: World) -> None:
    assert await world.line_post() == 200
    assert await world.rows(InboxEvent) == []


async def test_an_expired_reply_token_falls_back_to_push(world: World, line: LineApiFake) -> None:
    await enrolled(world)
    await log_session(world, "Visa / status", "Interviews")

    # Old by our own clock (handled two minutes late): pushed without trying the reply.
    stale = line_event_text(
        STUDENT,
        "Late answer.",
        reply_token=line.issue_reply_token(STUDENT),
        timestamp_ms=world.line_ms(ago=timedelta(minutes=2)),
    )
    await world.line_press(STUDENT, "Visa / status")
    replies = len(line.requests("reply"))
    assert await world.line_post(stale) == 200
    assert len(line.requests("reply")) == replies
    assert world.line_texts(STUDENT)[-1].startswith("(3/7)")
    assert line.pushed(STUDENT)[-1].text.startswith("(3/7)")

    # Fresh by our clock but refused by LINE: the reply fails, the push delivers.
    refused = line_event_text(
        STUDENT,
        "Another answer.",
        reply_token=line.issue_reply_token(STUDENT, ttl=-1),
        timestamp_ms=world.line_ms(),
    )
    assert await world.line_post(refused) == 200
    assert line.requests("reply")[-1].status == 400
    assert line.pushed(STUDENT)[-1].text.startswith("(4/7)")
    assert [a.text for a in await world.rows(Answer) if a.text] == [
        "Late answer.",
        "Another answer.",
    ]


async def test_a_push_accepted_but_unanswered_is_retried_and_409_counts_as_sent(
    make_world: MakeWorld,
    database_url: str,
    line: LineApiFake,
    line_server: tuple[LocalServer, Any],
) -> None:
    settings = world_settings(database_url, line=line_server[0])
    settings["api_timeout"] = 0.5
    world = await make_world(settings, line=line)
    await enrolled(world)
    line.delay_next("push", 0.8)  # LINE takes it, but answers after we gave up
    await log_session(world, "Visa / status", "Interviews")
    [row] = await world.rows(OutboxMessage, chat_id=STUDENT, status="pending")
    assert "timeout" in row.last_error.lower() or "Timeout" in row.last_error
    await eventually(lambda: len(line.requests("push")) == 1, "the slow push accepted")

    await world.tick(timedelta(seconds=5))

    first, retry = line.requests("push")
    assert (first.status, retry.status) == (200, 409)
    assert first.retry_key == retry.retry_key
    [row] = await world.rows(OutboxMessage, id=row.id)
    assert row.status == "sent"
    assert [m.text[:5] for m in line.pushed(STUDENT)][1] == "(1/7)"
    assert len(line.pushed(STUDENT)) == 2  # intro and question, once


async def test_unfollow_stops_sending_and_follow_again_resumes(
    world: World, line: LineApiFake
) -> None:
    await enrolled(world)
    line.block(STUDENT)
    assert await world.line_post(line_event_unfollow(STUDENT, timestamp_ms=world.line_ms())) == 200
    [student] = await world.rows(Student)
    assert not student.reachable
    await log_session(world, "Visa / status", "Interviews")
    assert requests_to(line, "push", STUDENT) == []
    assert [r for r in line.requests("push") if r.body.get("to") == STUDENT] == []

    follow = line_event_follow(
        STUDENT,
        unblocked=True,
        reply_token=line.issue_reply_token(STUDENT),
        timestamp_ms=world.line_ms(),
    )
    line.unblock(STUDENT)
    assert await world.line_post(follow) == 200
    [student] = await world.rows(Student)
    assert student.reachable
    # Welcome back, the intro and the waiting question: one free reply.
    [reply] = requests_to(line, "reply", STUDENT)[-1:]
    texts = [m["text"] for m in reply.body["messages"]]
    assert texts[0] == "Welcome back. I will send you questions again."
    assert texts[-1].startswith("(1/7)")


async def test_every_media_type_gets_a_polite_text_please(world: World, line: LineApiFake) -> None:
    await enrolled(world)
    await log_session(world, "Visa / status", "Interviews")
    for kind in ("image", "video", "audio", "file", "location", "sticker"):
        event = line_event_media(
            STUDENT, kind, reply_token=line.issue_reply_token(STUDENT), timestamp_ms=world.line_ms()
        )
        assert await world.line_post(event) == 200
        assert line.replied(STUDENT)[-1].text == TEXT_PLEASE, kind
    assert await world.rows(Answer) == []
    await world.line_press(STUDENT, "Visa / status")  # the question stayed open
    assert line.replied(STUDENT)[-1].text.startswith("(2/7)")


async def test_a_line_student_of_a_telegram_counselor_in_one_process(
    make_world: MakeWorld,
    database_url: str,
    line: LineApiFake,
    tg: FakeTelegram,
    line_server: tuple[LocalServer, Any],
    telegram_server: tuple[LocalServer, Any],
) -> None:
    settings = world_settings(
        database_url, telegram=telegram_server[0], webhook=True, line=line_server[0]
    )
    world = await make_world(settings, tg=tg, line=line)
    _, link_code = await world.add_counselor()
    await world.tg_say(TG_COUNSELOR, f"/start {link_code}")
    await world.tg_say(TG_COUNSELOR, "/invite Mai")
    code = world.tg_texts(TG_COUNSELOR)[-1].splitlines()[1]
    await join(world, code, as_text="/start {code}")

    await world.tg_say(TG_COUNSELOR, "/session")
    await world.tg_press(TG_COUNSELOR, "Mai")
    await world.tg_press(TG_COUNSELOR, "Visa / status")
    await world.tg_press(TG_COUNSELOR, "Interviews")
    await world.tg_press(TG_COUNSELOR, "Done")
    assert "Session logged for Mai (Visa / status, Interviews)." in world.tg_texts(TG_COUNSELOR)[-1]
    assert line.pushed(STUDENT)[-1].text.startswith("(1/7)")
    assert line.pushed(STUDENT)[-1].buttons == [
        ("Visa / status", "a:1:0:visa"),
        ("Interviews", "a:1:0:interview"),
        ("Skip", "a:1:0:skip"),
    ]

    await world.line_press(STUDENT, "Interviews")
    await world.line_say(STUDENT, "Xin chào — I can explain my research in Japanese now.")
    await world.tg_say(TG_COUNSELOR, "/digest")
    digest = world.tg_texts(TG_COUNSELOR)[-1]
    assert ": Interviews" in digest
    assert ": Xin chào — I can explain my research in Japanese now." in digest
    assert len(line.pushed(STUDENT)) == 2  # only the session's start was pushed
    assert line.replied(STUDENT)[-1].text.startswith("(3/7)")
