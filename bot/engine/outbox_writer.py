"""Turn handler replies into outbox rows, in the transaction of the change that caused them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.db.uow import UnitOfWork
from bot.engine.events import Inbound
from bot.engine.replies import Reply

# Messages that may travel in one request: LINE takes up to 5 per reply/push, and a reply
# token can be used once, so they are grouped. Telegram sends one message per row, so a
# retry never repeats a message that already went out.
MESSAGES_PER_ROW = {"line": 5}
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)


async def enqueue(
    uow: UnitOfWork,
    replies: Sequence[Reply],
    *,
    now: datetime,
    event: Inbound | None = None,
    sender_student_id: int | None = None,
) -> list[int]:
    """Write replies as outbox rows; returns the ids of those due now."""
    batches: list[tuple[str, str, int | None, datetime, int | None, list[Reply]]] = []
    for reply in replies:
        for channel, chat_id, student_id in await _destinations(
            uow, reply, event, sender_student_id
        ):
            due = reply.due_at or now
            run_id = reply.extra.get("run_id")
            last = batches[-1] if batches else None
            if (
                last
                and last[:5] == (channel, chat_id, student_id, due, run_id)
                and len(last[5]) < MESSAGES_PER_ROW.get(channel, 1)
            ):
                last[5].append(reply)
            else:
                batches.append((channel, chat_id, student_id, due, run_id, [reply]))

    token_free = True
    due_now: list[int] = []
    for channel, chat_id, student_id, due, run_id, messages in batches:
        reply_token, token_expiry = "", None
        is_sender = event is not None and (channel, chat_id) == (event.channel, event.chat_id)
        if is_sender and token_free and event is not None and event.reply_token and due <= now:
            reply_token = event.reply_token
            token_expiry = event.received_at + REPLY_TOKEN_LIFETIME
            token_free = False
        row = await uow.outbox.add(
            idempotency_key=uuid.uuid4().hex,
            channel=channel,
            chat_id=chat_id,
            student_id=student_id,
            run_id=run_id,
            payload={"messages": [m.to_json() for m in messages]},
            due_at=due,
            reply_token=reply_token,
            reply_token_expires_at=token_expiry,
            created_at=now,
        )
        if due <= now:
            due_now.append(row.id)
    return due_now


async def _destinations(
    uow: UnitOfWork, reply: Reply, event: Inbound | None, sender_student_id: int | None
) -> list[tuple[str, str, int | None]]:
    if reply.to is None:
        if event is None:
            raise ValueError("a reply without a recipient needs an event to answer")
        return [(event.channel, event.chat_id, sender_student_id)]
    if reply.to.kind == "student":
        student = await uow.students.get(reply.to.id)
        if student is None or not student.reachable:
            return []
        accounts = await uow.accounts.of_student(reply.to.id)
        return [(a.channel, a.chat_id, reply.to.id) for a in accounts]
    accounts = await uow.accounts.of_counselor(reply.to.id)
    return [(a.channel, a.chat_id, None) for a in accounts]
