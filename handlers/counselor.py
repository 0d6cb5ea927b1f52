"""Counselor commands: invite, log a session, list students. (The digest: handlers/digest/.)"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.db.models import Student
from bot.db.states import CodeKind, Consent
from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Reply
from bot.text import split_text
from handlers import followups
from handlers.buttons import (
    SessionCancel,
    SessionChoice,
    SessionDone,
    SessionStudent,
    SessionTopic,
)
from handlers.common import counselor_help, invalid_button
from handlers.digest.render import CHAT_MESSAGE
from handlers.digest.roster import chat_lines, student_rows

MAX_STUDENT_BUTTONS = 12
SESSION_STATE = "session"  # the picker's student and ticked topics, between presses


def _name(student: Student) -> str:
    return student.label or f"#{student.id}"


async def help_(event: Inbound, ctx: Context) -> list[Reply]:
    """List the counselor commands."""
    return [counselor_help(ctx)]


async def invite(event: Inbound, ctx: Context) -> list[Reply]:
    """Create a single-use invite code for a new student."""
    assert ctx.counselor is not None
    label = event.args.strip()[:200]
    code = await ctx.uow.codes.create(
        kind=CodeKind.INVITE,
        counselor_id=ctx.counselor.id,
        label=label,
        now=ctx.now,
        ttl=timedelta(days=ctx.settings.code_ttl_days),
    )
    t = ctx.t
    lines = [
        t._("Invite code for {name}:", name=label or t._("a new student")),
        code,
        t._("The student sends this to the bot: /start {code}", code=code),
    ]
    for template in ctx.links.values():
        lines.append(template.format(code=code))
    lines.append(
        t._(
            "It works once and expires on {date}.",
            date=t.date(
                ctx.now + timedelta(days=ctx.settings.code_ttl_days), ctx.counselor.timezone
            ),
        )
    )
    return [Reply(text="\n".join(lines))]


async def students(event: Inbound, ctx: Context) -> list[Reply]:
    """List this counselor's students: language, status, last answer, open flags."""
    assert ctx.counselor is not None
    t = ctx.t
    rows = await student_rows(ctx, ctx.counselor)
    if not rows:
        return [Reply(text=t._("You have no students yet. Create an invite with /invite NAME."))]
    text = "\n".join([t._("Your students:"), *chat_lines(t, rows)])
    concerns = frozenset(row.id for row in rows)  # names and statuses are about them
    return [Reply(text=chunk, concerns=concerns) for chunk in split_text(text, CHAT_MESSAGE)]


async def log_session(ctx: Context, student: Student, topics: list[str]) -> list[Reply]:
    """Record a session and send the reflection to the student (now, or when they consent)."""
    assert ctx.counselor is not None
    session = await ctx.uow.sessions.add(
        counselor_id=ctx.counselor.id, student_id=student.id, held_at=ctx.now, topics=topics
    )
    await ctx.uow.audit.record(
        at=ctx.now,
        actor=ctx.actor,
        action="session.logged",
        subject=f"student:{student.id}",
        topics=topics,
    )
    await followups.plan_after_session(ctx, student, session)
    sent = await followups.start_due_for(ctx, student)
    t = ctx.t
    names = t.join([t._(ctx.prompts.topic(tid).label) for tid in topics]) or t._("no topics")
    note = t._("Session logged for {name} ({topics}).", name=_name(student), topics=names)
    if sent:
        note += "\n" + t._("The reflection questions were sent.")
    else:
        note += "\n" + t._("The questions will be sent when the student can receive them.")
    return [*sent, Reply(text=note, concerns=frozenset({student.id}))]


async def session(event: Inbound, ctx: Context) -> list[Reply]:
    """/session [STUDENT_ID [topic,topic]]: log a session; what is missing is asked for."""
    assert ctx.counselor is not None and ctx.account is not None
    args = event.args.split()
    if args:
        student = await _own_student(ctx, args[0].lstrip("#"))
        if student is None:
            return [Reply(text=ctx.t._("You have no student with that number. See /students."))]
        if len(args) == 1:  # the topics are asked for, never guessed
            data = {"student_id": student.id, "topics": []}
            await ctx.uow.states.set(ctx.account.id, SESSION_STATE, data, ctx.now)
            return [_topic_picker(ctx, student, [])]
        topics = _parse_topics(ctx, args[1])
        if topics is None:
            return [
                Reply(
                    text=ctx.t._(
                        "Unknown topic. Known topics: {topics}",
                        topics=", ".join(t.id for t in ctx.prompts.topics),
                    )
                )
            ]
        return await log_session(ctx, student, topics)
    rows = [
        s
        for s in await ctx.uow.students.list_for_counselor(ctx.counselor.id)
        if s.consent != Consent.DECLINED
    ]
    if not rows:
        return [
            Reply(text=ctx.t._("You have no students yet. Create an invite with /invite NAME."))
        ]
    await ctx.uow.states.clear(ctx.account.id)
    listed = rows[-MAX_STUDENT_BUTTONS:]
    buttons = [SessionStudent(s.id).button(_name(s)[:20], keep=True) for s in listed]
    buttons.append(_cancel(ctx))
    text = ctx.t._("Which student was the session with?")
    if len(rows) > MAX_STUDENT_BUTTONS:
        text += "\n" + ctx.t._("Not listed? Send /session NUMBER (see /students).")
    concerns = frozenset(s.id for s in listed)  # the buttons carry their names
    return [Reply(text=text, buttons=tuple(buttons), columns=2, concerns=concerns)]


async def _own_student(ctx: Context, raw_id: str) -> Student | None:
    assert ctx.counselor is not None
    if not raw_id.isdigit():
        return None
    return await ctx.uow.students.of_counselor(ctx.counselor.id, int(raw_id))


def _parse_topics(ctx: Context, raw: str) -> list[str] | None:
    known = {t.id for t in ctx.prompts.topics}
    topics = [part.strip() for part in raw.split(",") if part.strip()]
    return topics if all(tid in known for tid in topics) else None


async def session_choice(choice: SessionChoice, event: Inbound, ctx: Context) -> list[Reply]:
    """Buttons of /session: pick the student, toggle topics, Done or Cancel; every step
    edits the one picker message in place."""
    assert ctx.counselor is not None and ctx.account is not None
    state = await ctx.uow.states.get(ctx.account.id)
    data = dict(state.data) if state is not None and state.name == SESSION_STATE else {}
    here = event.message_id  # the picker message: edited, not repeated
    match choice:
        case SessionCancel():
            await ctx.uow.states.clear(ctx.account.id)
            return [Reply(text=ctx.t._("Cancelled. No session was logged."), replaces=here)]
        case SessionStudent(student_id=student_id):
            if await _own_student(ctx, str(student_id)) is None:
                return invalid_button(ctx)  # only the counselor's own students were offered
            data = {"student_id": student_id, "topics": []}
        case SessionTopic(topic_id=topic_id) if data:
            if topic_id not in {t.id for t in ctx.prompts.topics}:
                return invalid_button(ctx)
            topics = set(data["topics"]) ^ {topic_id}  # a tap ticks, a second tap unticks
            data["topics"] = [t.id for t in ctx.prompts.topics if t.id in topics]
        case SessionDone() if data:
            await ctx.uow.states.clear(ctx.account.id)
            student = await _own_student(ctx, str(data["student_id"]))
            if student is None:
                return invalid_button(ctx)
            replies = await log_session(ctx, student, data["topics"])
            replies[-1] = dataclasses.replace(replies[-1], replaces=here)
            return replies
        case _:
            return [
                Reply(text=ctx.t._("That choice is no longer open. Start again with /session."))
            ]
    student = await _own_student(ctx, str(data["student_id"]))
    if student is None:  # deleted while the picker was open
        await ctx.uow.states.clear(ctx.account.id)
        return invalid_button(ctx)
    await ctx.uow.states.set(ctx.account.id, SESSION_STATE, data, ctx.now)
    return [dataclasses.replace(_topic_picker(ctx, student, data["topics"]), replaces=here)]


def _cancel(ctx: Context) -> Button:
    # TRANSLATORS: button label, at most 20 characters
    return SessionCancel().button(ctx.t._("Cancel"), keep=True)


def _topic_picker(ctx: Context, student: Student, chosen: list[str]) -> Reply:
    """The topics to tick (✓), then Done; Cancel logs nothing."""
    t = ctx.t
    buttons = [
        SessionTopic(topic.id).button(
            ("✓ " if topic.id in chosen else "") + t._(topic.label), keep=True
        )
        for topic in ctx.prompts.topics
    ]
    # TRANSLATORS: button label, at most 20 characters
    buttons.append(SessionDone().button(t._("Done"), keep=True))
    buttons.append(_cancel(ctx))
    names = t.join([t._(ctx.prompts.topic(tid).label) for tid in chosen]) or t._("none yet")
    text = "\n".join(
        [
            t._("Session with {name}.", name=_name(student)),
            t._("Which topics did you cover? Tap to select, then Done."),
            t._("Selected: {topics}", topics=names),
        ]
    )
    return Reply(text=text, buttons=tuple(buttons), columns=2, concerns=frozenset({student.id}))
