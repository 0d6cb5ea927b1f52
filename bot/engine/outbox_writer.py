"""Turn handler replies into outbox rows, in the transaction of the change that caused them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.db.repo_messaging import ClaimedMessage
from bot.db.uow import UnitOfWork
from bot.engine.events import Inbound
from bot.engine.replies import Reply

# Messages that may travel in one request: LINE takes up to 5 per reply/push, and a reply
# token can be used once, so they are grouped. Telegram sends one message per row, so a
# retry never repeats a message that already went out.
MESSAGES_PER_ROW = {"line": 5}
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)

# A row due now: its id (for the dispatcher to claim), or the row itself, written already
# claimed by the transaction that queued it (nothing to claim: one round trip fewer).
Due = int | ClaimedMessage


@dataclass
class _Row:
    channel: str
    chat_id: str
    student_id: int | None
    due: datetime
    run_id: int | None
    answers_event: bool  # due now, to the chat the event came from
    forget_chat: bool  # to a stranger: the chat id is not kept once sent
    messages: list[Reply] = field(default_factory=list)
    concerns: set[int] = field(default_factory=set)

    def takes(self, other: _Row) -> bool:
        """Whether `other`'s message may travel in this row (same chat, time and run).

        Messages answering the event share a row across runs ("thanks" + the first
        question), so one free reply carries them all.
        """
        same_run = self.run_id == other.run_id or (self.answers_event and other.answers_event)
        return (
            (self.channel, self.chat_id, self.student_id, self.due)
            == (other.channel, other.chat_id, other.student_id, other.due)
            and same_run
            and len(self.messages) < MESSAGES_PER_ROW.get(self.channel, 1)
        )


async def enqueue(
    uow: UnitOfWork,
    replies: Sequence[Reply],
    *,
    now: datetime,
    event: Inbound | None = None,
    sender_student_id: int | None = None,
    sender_is_stranger: bool = False,
    reply_lease: timedelta | None = None,
) -> list[Due]:
    """Write replies as outbox rows; returns those due now.

    The first row answering the event gets its reply token (LINE: a free reply instead of
    a push); the dispatcher uses it only while it is fresh. With `reply_lease` (the sender
    sends such replies at once, needing no share of the rate), that row is written already
    claimed for that long, unless an earlier message to the chat still waits, and comes
    back as the claimed row itself, its token held only in memory.

    Each row records the students it concerns, so deleting a student finds it: those its
    replies name, the student it goes to, and (for a message to someone else, such as an
    alert to the counselor) the student whose event is being handled. A reply to a sender
    the bot does not know (or no longer knows, after /forget) keeps no chat id once sent.
    """
    rows: list[_Row] = []
    for reply in replies:
        for channel, chat_id, student_id in await _destinations(
            uow, reply, event, sender_student_id
        ):
            due = reply.due_at or now
            answers_event = (
                event is not None
                and (channel, chat_id) == (event.channel, event.chat_id)
                and due <= now
            )
            forget_chat = reply.to is None and sender_is_stranger
            row = _Row(
                channel,
                chat_id,
                student_id,
                due,
                reply.extra.get("run_id"),
                answers_event,
                forget_chat,
            )
            concerns = _concerns(reply, student_id, sender_student_id)
            if rows and rows[-1].takes(row):
                rows[-1].messages.append(reply)
                rows[-1].run_id = rows[-1].run_id or row.run_id
                rows[-1].concerns |= concerns
            else:
                row.messages.append(reply)
                row.concerns |= concerns
                rows.append(row)

    token_free = event is not None and bool(event.reply_token)
    values: list[dict[str, Any]] = []
    tokens: list[str] = []  # the reply token of a row written already claimed, else ""
    for row in rows:
        reply_token, token_expiry = "", None
        if token_free and row.answers_event and event is not None:
            reply_token = event.reply_token
            token_expiry = event.received_at + REPLY_TOKEN_LIFETIME
            token_free = False
        claim = (
            bool(reply_token)
            and token_expiry is not None
            and token_expiry > now
            and reply_lease is not None
            and not await uow.outbox.chat_waiting(row.channel, row.chat_id, now)
        )
        value: dict[str, Any] = {
            "idempotency_key": uuid.uuid4().hex,
            "channel": row.channel,
            "chat_id": row.chat_id,
            "student_id": row.student_id,
            "run_id": row.run_id,
            "payload": {"messages": [m.to_json() for m in row.messages]},
            "due_at": row.due,
            "created_at": now,
            "forget_chat": row.forget_chat,
        }
        if claim and reply_lease is not None:
            # Claimed by this attempt; the token is not stored (it is offered once).
            value.update(claimed_until=now + reply_lease, attempts=1)
            tokens.append(reply_token)
        else:
            value.update(reply_token=reply_token, reply_token_expires_at=token_expiry)
            tokens.append("")
        values.append(value)
    ids = await uow.outbox.add_many(values, concerns=[row.concerns for row in rows])
    due_now: list[Due] = []
    for row_id, value, token in zip(ids, values, tokens, strict=True):
        if token:
            due_now.append(
                ClaimedMessage(
                    id=row_id,
                    channel=value["channel"],
                    chat_id=value["chat_id"],
                    student_id=value["student_id"],
                    attempts=1,
                    idempotency_key=value["idempotency_key"],
                    payload=value["payload"],
                    reply_token=token,
                )
            )
        elif value["due_at"] <= now:
            due_now.append(row_id)
    return due_now


def _concerns(reply: Reply, recipient: int | None, sender: int | None) -> set[int]:
    concerns = set(reply.concerns)
    if recipient is not None:
        concerns.add(recipient)
    elif reply.to is not None and sender is not None:
        concerns.add(sender)  # written to someone else while handling this student's event
    return concerns


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
