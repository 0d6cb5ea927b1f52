"""The student's own data: what is kept, a copy of it, and deleting it."""

from __future__ import annotations

import json

from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Document, Reply
from bot.export import student_export
from handlers.onboarding import consent_text


async def privacy(event: Inbound, ctx: Context) -> list[Reply]:
    """Show again what is kept, who reads it and how to delete it."""
    assert ctx.student is not None
    counselor = await ctx.uow.counselors.get(ctx.student.counselor_id)
    text = consent_text(ctx, counselor.name if counselor else "")
    # The consent text ends with the question; here it is a statement.
    text = text.rsplit("\n", 2)[0]
    return [
        Reply(
            text=text
            + "\n\n"
            + ctx.t._("To withdraw your consent and delete everything, send /forget.")
        )
    ]


async def mydata(event: Inbound, ctx: Context) -> list[Reply]:
    """Give the student everything stored about them: a JSON file and a readable summary."""
    assert ctx.student is not None
    data = await student_export(ctx.uow, ctx.student.id)
    await ctx.uow.audit.record(
        at=ctx.now,
        actor=ctx.actor,
        action="data.exported",
        subject=f"student:{ctx.student.id}",
        via="chat",
    )
    t = ctx.t
    answers = data["answers"]
    summary = [
        t.ngettext("I keep {n} answer of yours.", "I keep {n} answers of yours.", len(answers))
    ]
    for answer in answers[-30:]:
        shown = answer["text"] or answer["choice"] or answer["scale"] or ""
        summary.append(f"{answer['created_at'][:10]} – {shown}")
    document = Document(
        filename="furikaeri-my-data.json",
        content=json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
    )
    return [
        Reply(text="\n".join(summary)),
        Reply(text=t._("All your data as a file."), document=document),
    ]


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
    await forget_student(
        ctx, ctx.student.id, actor=ctx.actor, sender=f"{event.channel}:{event.user_id}"
    )
    ctx.student = None
    return [Reply(text=goodbye)]


async def forget_student(ctx: Context, student_id: int, *, actor: str, sender: str = "") -> None:
    """Delete a student's answers, runs, sessions, messages and profile; audit without text."""
    accounts = await ctx.uow.accounts.of_student(student_id)
    for account in accounts:
        await ctx.uow.inbox.forget_sender(f"{account.channel}:{account.external_id}")
    if sender:
        await ctx.uow.inbox.forget_sender(sender)
    await ctx.uow.outbox.delete_of_student(student_id)
    await ctx.uow.students.delete(student_id)  # answers, runs, sessions, accounts cascade
    await ctx.uow.audit.record(
        at=ctx.now, actor=actor, action="data.deleted", subject=f"student:{student_id}"
    )
