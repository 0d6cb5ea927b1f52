"""Counselor commands: invite, log a session, read the digest, list students."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.db.models import Student
from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Reply
from bot.text import split_text
from handlers import followups
from handlers.common import counselor_help
from handlers.digest.render import CHAT_MESSAGE
from handlers.digest.roster import chat_lines, student_rows

MAX_STUDENT_BUTTONS = 12


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
        kind="invite",
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
    names = ", ".join(t._(ctx.prompts.topic(tid).label) for tid in topics) or t._("no topics")
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
            await ctx.uow.states.set(ctx.account.id, "session", data, ctx.now)
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
        if s.consent != "declined"
    ]
    if not rows:
        return [
            Reply(text=ctx.t._("You have no students yet. Create an invite with /invite NAME."))
        ]
    await ctx.uow.states.clear(ctx.account.id)
    buttons = [
        Button(_name(s)[:20], f"ses:s:{s.id}", keep=True) for s in rows[-MAX_STUDENT_BUTTONS:]
    ]
    buttons.append(_cancel(ctx))
    text = ctx.t._("Which student was the session with?")
    if len(rows) > MAX_STUDENT_BUTTONS:
        text += "\n" + ctx.t._("Not listed? Send /session NUMBER (see /students).")
    listed = frozenset(s.id for s in rows[-MAX_STUDENT_BUTTONS:])
    return [Reply(text=text, buttons=tuple(buttons), columns=2, concerns=listed)]


async def _own_student(ctx: Context, raw_id: str) -> Student | None:
    assert ctx.counselor is not None
    if not raw_id.isdigit():
        return None
    return await ctx.uow.students.of_counselor(ctx.counselor.id, int(raw_id))


def _parse_topics(ctx: Context, raw: str) -> list[str] | None:
    known = {t.id for t in ctx.prompts.topics}
    topics = [part.strip() for part in raw.split(",") if part.strip()]
    return topics if all(tid in known for tid in topics) else None


async def session_choice(event: Inbound, ctx: Context) -> list[Reply]:
    """Buttons of /session: pick the student, toggle topics, Done or Cancel; every step
    edits the one picker message in place."""
    assert ctx.counselor is not None and ctx.account is not None
    parts = event.data.split(":")
    state = await ctx.uow.states.get(ctx.account.id)
    data = dict(state.data) if state is not None and state.name == "session" else {}
    here = event.message_id  # the picker message: edited, not repeated
    if parts[1:] == ["x"]:
        await ctx.uow.states.clear(ctx.account.id)
        return [Reply(text=ctx.t._("Cancelled. No session was logged."), replaces=here)]
    if parts[1] == "s" and len(parts) == 3:
        picked = await _own_student(ctx, parts[2])
        if picked is None:
            return [Reply(text=ctx.t._("You have no student with that number. See /students."))]
        data = {"student_id": picked.id, "topics": []}
    elif parts[1] == "t" and len(parts) == 3 and data:
        if parts[2] not in {t.id for t in ctx.prompts.topics}:
            return []
        topics = set(data["topics"]) ^ {parts[2]}  # a tap ticks, a second tap unticks
        data["topics"] = [t.id for t in ctx.prompts.topics if t.id in topics]
    elif parts[1] == "done" and data:
        await ctx.uow.states.clear(ctx.account.id)
        student = await _own_student(ctx, str(data["student_id"]))
        if student is None:
            return []
        replies = await log_session(ctx, student, data["topics"])
        replies[-1] = dataclasses.replace(replies[-1], replaces=here)
        return replies
    else:
        return [Reply(text=ctx.t._("That choice is no longer open. Start again with /session."))]
    student = await _own_student(ctx, str(data["student_id"]))
    if student is None:
        return []
    await ctx.uow.states.set(ctx.account.id, "session", data, ctx.now)
    return [dataclasses.replace(_topic_picker(ctx, student, data["topics"]), replaces=here)]


def _cancel(ctx: Context) -> Button:
    # TRANSLATORS: button label, at most 20 characters
    return Button(ctx.t._("Cancel"), "ses:x", keep=True)


def _topic_picker(ctx: Context, student: Student, chosen: list[str]) -> Reply:
    """The topics to tick (✓), then Done; Cancel logs nothing."""
    t = ctx.t
    buttons = [
        Button(
            ("✓ " if topic.id in chosen else "") + t._(topic.label), f"ses:t:{topic.id}", keep=True
        )
        for topic in ctx.prompts.topics
    ]
    # TRANSLATORS: button label, at most 20 characters
    buttons.append(Button(t._("Done"), "ses:done", keep=True))
    buttons.append(_cancel(ctx))
    names = ", ".join(t._(ctx.prompts.topic(tid).label) for tid in chosen) or t._("none yet")
    text = "\n".join(
        [
            t._("Session with {name}.", name=_name(student)),
            t._("Which topics did you cover? Tap to select, then Done."),
            t._("Selected: {topics}", topics=names),
        ]
    )
    return Reply(text=text, buttons=tuple(buttons), columns=2, concerns=frozenset({student.id}))
