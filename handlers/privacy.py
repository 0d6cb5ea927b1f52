"""The student's own data: what is kept, a copy of it, withdrawing consent, deleting it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Document, Reply
from bot.i18n import display_name
from handlers.export import student_export
from handlers.onboarding import consent_points
from handlers.reflection import answer_text


async def privacy(event: Inbound, ctx: Context) -> list[Reply]:
    """Show again what is kept, who reads it and how to delete it; offer to withdraw."""
    assert ctx.student is not None
    t = ctx.t
    counselor = await ctx.uow.counselors.get(ctx.student.counselor_id)
    lines = [*consent_points(ctx, counselor.name if counselor else ""), ""]
    buttons: tuple[Button, ...] = ()
    if ctx.student.consent == "given":
        lines.append(
            t._(
                "You can withdraw your consent at any time. Then I send you no more "
                "questions, keep nothing new that you write, and offer to delete the rest."
            )
        )
        # TRANSLATORS: button label, at most 20 characters
        buttons = (Button(t._("Withdraw consent"), "consent:withdraw"),)
    else:
        lines.append(
            t._(
                "You have not given your consent, so I keep none of your answers. "
                "To read the consent question again, send /start."
            )
        )
    lines.append(t._("To delete everything now, send /forget."))
    return [Reply(text="\n".join(lines), buttons=buttons)]


async def mydata(event: Inbound, ctx: Context) -> list[Reply]:
    """Give the student everything stored about them: a readable summary and a JSON file.

    Channels that cannot send files (LINE) send the summary only, so it holds everything too.
    """
    assert ctx.student is not None
    t = ctx.t
    data = await student_export(
        ctx.uow,
        ctx.student.id,
        question_text=lambda qid: t._(ctx.prompts.question(qid).text),
        now=ctx.now,
    )
    await ctx.uow.audit.record(
        at=ctx.now,
        actor=ctx.actor,
        action="data.exported",
        subject=f"student:{ctx.student.id}",
        via="chat",
    )
    document = Document(
        filename="furikaeri-my-data.json",
        content=json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
    )
    return [Reply(text=_summary(ctx, data)), Reply(text="", document=document)]


def _summary(ctx: Context, data: dict[str, Any]) -> str:
    """Everything in the export, readable, in the student's language."""
    assert ctx.student is not None
    t, student = ctx.t, ctx.student
    zone = student.timezone
    channels = sorted({a["channel"] for a in data["chat_accounts"]})
    lines = [
        t._("Everything I keep about you:"),
        t._("Your counselor: {name}", name=data["student"]["counselor"] or "-"),
        t._(
            "Language: {language}. Time zone: {zone}.",
            language=display_name(student.locale),
            zone=zone,
        ),
        t._("Chat accounts: {channels}", channels=", ".join(channels) or "-"),
    ]
    if student.consent == "given" and student.consented_at is not None:
        lines.append(t._("You agreed on {date}.", date=t.date(student.consented_at, zone)))
    session_lines = [
        f"{t.date(_parse(s['held_at']), zone)} – "
        + (", ".join(_topic(ctx, tid) for tid in s["topics"]) or t._("no topics"))
        for s in data["sessions"]
    ]
    if session_lines:
        lines += ["", t._("Sessions with your counselor:"), *session_lines]
    lines += [
        "",
        t.ngettext(
            "I keep {n} answer of yours.", "I keep {n} answers of yours.", len(data["answers"])
        ),
    ]
    for answer in data["answers"]:
        when = t.date(_parse(answer["created_at"]), zone)
        question = answer["question"] or answer["question_id"]
        if answer["skipped"]:
            shown = t._("(skipped)")
        else:
            shown = answer_text(ctx, answer["text"], answer["choice"], answer["scale"], t)
        marks = " " + t._("(withdrawn)") if answer["withdrawn"] else ""
        lines += [f"{when} – {question}", f"→ {shown}{marks}"]
    return "\n".join(lines)


def _topic(ctx: Context, topic_id: str) -> str:
    try:
        return ctx.t._(ctx.prompts.topic(topic_id).label)
    except KeyError:
        return topic_id


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def forget(event: Inbound, ctx: Context) -> list[Reply]:
    """Ask for confirmation before deleting everything."""
    return [
        Reply(
            text=ctx.t._(
                "This deletes all your answers and your connection to your counselor. "
                "It cannot be undone. Delete everything?"
            ),
            # TRANSLATORS: button label, at most 20 characters
            buttons=(
                Button(ctx.t._("Delete everything"), "forget:yes"),
                # TRANSLATORS: button label, at most 20 characters
                Button(ctx.t._("Cancel"), "forget:no"),
            ),
            columns=2,
        )
    ]


async def forget_choice(event: Inbound, ctx: Context) -> list[Reply]:
    """Delete the student's data after a confirmed /forget."""
    assert ctx.student is not None
    if event.data != "forget:yes":
        return [Reply(text=ctx.t._("Nothing was deleted."))]
    goodbye = ctx.t._(
        "Everything is deleted. Thank you for your reflections. "
        "If you want to join again, ask your counselor for a new code."
    )
    await forget_student(ctx, ctx.student.id, actor=ctx.actor)
    ctx.student = None
    return [Reply(text=goodbye)]


async def forget_student(ctx: Context, student_id: int, *, actor: str) -> None:
    """Delete a student's answers, runs, sessions, messages and profile; audit without text.

    The database files are scrubbed once this commits (SQLite: the write-ahead log is
    checkpointed and truncated; secure_delete has zeroed the rows).
    """
    uow = ctx.uow
    quoted = [a.text for a in await uow.answers.of_student(student_id) if a.text]
    for account in await uow.accounts.of_student(student_id):
        await uow.inbox.forget_sender(f"{account.channel}:{account.external_id}")
    await uow.outbox.delete_of_student(student_id)
    # A counselor's digest still waiting to go out may quote the answers.
    await uow.outbox.drop_unsent_containing(quoted)
    await uow.students.delete(student_id)  # answers, runs, sessions, accounts cascade
    await uow.audit.record(
        at=ctx.now, actor=actor, action="data.deleted", subject=f"student:{student_id}"
    )
    uow.scrub_after_commit()
