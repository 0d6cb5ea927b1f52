"""Asking one question at a time, keeping each answer as written, and reading them back."""

from __future__ import annotations

from bot.db.models import Run, Student
from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Recipient, Reply
from bot.safety import is_urgent
from handlers import alerts, safety
from handlers.yes import means_yes


def _to(ctx: Context, student: Student) -> Recipient | None:
    """Answer the sender directly (a LINE reply is free); anyone else gets a push."""
    return (
        None
        if ctx.student is not None and ctx.student.id == student.id
        else Recipient("student", student.id)
    )


async def start_run(ctx: Context, run: Run, student: Student) -> list[Reply]:
    """Open a question set: its intro and first question."""
    run.state, run.step = "active", 0
    question_set = ctx.prompts.sets[run.set_id]
    t = ctx.tr(student.locale)
    intro = Reply(text=t._(question_set.intro), to=_to(ctx, student), extra={"run_id": run.id})
    return [intro, *await ask(ctx, run, student)]


async def ask(ctx: Context, run: Run, student: Student, *, reminder: bool = False) -> list[Reply]:
    """The current question of a run, as one message with its buttons."""
    t = ctx.tr(student.locale)
    question = ctx.prompts.question(run.questions[run.step])
    if reminder:
        run.reminded_at = ctx.now
    else:
        run.asked_at, run.reminded_at = ctx.now, None
    base = f"a:{run.id}:{run.step}:"
    lines = [f"({run.step + 1}/{len(run.questions)})"]
    if reminder:
        lines.insert(0, t._("A gentle reminder, in case you missed it:"))
    lines.append(t._(question.text))
    buttons: list[Button] = []
    columns = 1
    if question.kind == "scale":
        lines.append(
            t._("1 = {low}, 5 = {high}", low=t._(question.low or ""), high=t._(question.high or ""))
        )
        buttons = [Button(str(n), f"{base}{n}") for n in range(1, 6)]
        columns = 5
    elif question.kind == "yesno":
        # TRANSLATORS: button label, at most 20 characters
        buttons = [Button(t._("Yes"), f"{base}yes"), Button(t._("No"), f"{base}no")]
        columns = 2
    elif question.kind == "topics":
        for topic_id in await _session_topics(ctx, run):
            buttons.append(Button(t._(ctx.prompts.topic(topic_id).label), f"{base}{topic_id}"))
        columns = 2
    lines.append(
        t._("Tap a button or write in your own words. You can skip this question.")
        if buttons
        else t._("Write in your own words. You can skip this question.")
    )
    # TRANSLATORS: button label, at most 20 characters
    buttons.append(Button(t._("Skip"), f"{base}skip"))
    replies: list[Reply] = []
    if question.kind == "yesno" and run.step == len(run.questions) - 1 and not reminder:
        replies.extend(await mirror(ctx, run, student))
    replies.append(
        Reply(
            text="\n".join(lines),
            buttons=tuple(buttons),
            columns=columns,
            to=_to(ctx, student),
            extra={"run_id": run.id},
        )
    )
    return replies


async def _session_topics(ctx: Context, run: Run) -> list[str]:
    if run.session_id is None:
        return []
    session = await ctx.uow.sessions.get(run.session_id)
    known = {topic.id for topic in ctx.prompts.topics}
    return [tid for tid in (session.topics if session else []) if tid in known]


async def mirror(ctx: Context, run: Run, student: Student) -> list[Reply]:
    """Show the student what they wrote in this run, as written."""
    t = ctx.tr(student.locale)
    lines = []
    for answer in await ctx.uow.answers.of_run(run.id):
        shown = answer_text(ctx, answer.text, answer.choice, answer.scale, t)
        if shown and not answer.skipped and not answer.hidden:
            lines.append(f"• {shown}")
    if not lines:
        return []
    text = "\n".join([t._("Here is what you wrote:"), *lines])
    return [Reply(text=text, to=_to(ctx, student), extra={"run_id": run.id})]


def answer_text(ctx: Context, text: str | None, choice: str | None, scale: int | None, t) -> str:  # type: ignore[no-untyped-def]
    if text:
        return text
    if scale is not None:
        return f"{scale}/5"
    if choice in ("yes", "no"):
        return t._("Yes") if choice == "yes" else t._("No")
    if choice:
        try:
            return t._(ctx.prompts.topic(choice).label)
        except KeyError:
            return choice
    return ""


async def answer_text_message(event: Inbound, ctx: Context) -> list[Reply]:
    """Store a typed answer to the current question and ask the next one."""
    assert ctx.student is not None
    run = await ctx.uow.runs.active_of(ctx.student.id)
    if run is None:
        # Not an answer, so not kept; a cry for help still gets help and alerts the counselor.
        crisis = safety.is_crisis(ctx, event.text)
        return [
            *(await safety.respond(ctx, answer_kept=False) if crisis else []),
            Reply(
                text=ctx.t._(
                    "Thank you. There is no open question right now. I will write after your next "
                    "session. /journal shows what you wrote before."
                )
            ),
        ]
    if not event.text.strip():
        return [Reply(text=ctx.t._("That message was empty. Please write your answer, or /skip."))]
    urgent = is_urgent(event.text, ctx.prompts.safety.phrases)
    step = ctx.prompts.step_of(run.questions[run.step])
    # A typed yes to a yes/no question counts as pressing Yes; the words stay as written.
    typed_yes = step.kind == "yesno" and means_yes(event.text)
    replies = await _record(
        ctx, run, event, text=event.text, choice="yes" if typed_yes else None, urgent=urgent
    )
    if urgent:
        replies = [*safety.help_replies(ctx), *await safety.alert_counselor(ctx), *replies]
    return replies


async def choice(event: Inbound, ctx: Context) -> list[Reply]:
    """Store a button answer ("a:<run>:<step>:<value>"); stale presses change nothing."""
    assert ctx.student is not None
    parts = event.data.split(":")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        return []
    run = await ctx.uow.runs.get(int(parts[1]))
    if (
        run is None
        or run.student_id != ctx.student.id
        or run.state != "active"
        or run.step != int(parts[2])
    ):
        return [Reply(text=ctx.t._("That question is already closed."))]
    value = parts[3]
    if value == "skip":
        return await _record(ctx, run, event, skipped=True)
    question = ctx.prompts.question(run.questions[run.step])
    if question.kind == "scale" and value in {"1", "2", "3", "4", "5"}:
        return await _record(ctx, run, event, scale=int(value))
    return await _record(ctx, run, event, choice=value)


async def skip(event: Inbound, ctx: Context) -> list[Reply]:
    """Skip the current question."""
    assert ctx.student is not None
    run = await ctx.uow.runs.active_of(ctx.student.id)
    if run is None:
        return [Reply(text=ctx.t._("There is no open question to skip."))]
    return await _record(ctx, run, event, skipped=True)


async def _record(
    ctx: Context,
    run: Run,
    event: Inbound,
    *,
    text: str | None = None,
    choice: str | None = None,
    scale: int | None = None,
    skipped: bool = False,
    urgent: bool = False,
) -> list[Reply]:
    assert ctx.student is not None
    question_id = run.questions[run.step]
    alert: list[Reply] = []
    if choice == "yes" and ctx.prompts.step_of(question_id).flag == alerts.WANTS_TO_TALK:
        alert = await alerts.wants_to_talk(ctx, ctx.student)
    await ctx.uow.answers.add(
        run_id=run.id,
        student_id=ctx.student.id,
        question_id=question_id,
        text=text,
        choice=choice,
        scale=scale,
        skipped=skipped,
        urgent=urgent,
        channel=event.channel,
        message_id=event.message_id,
        created_at=ctx.now,
    )
    run.step += 1
    if run.step < len(run.questions):
        return [*alert, *await ask(ctx, run, ctx.student)]
    run.state, run.finished_at = "done", ctx.now
    outro = ctx.t._(ctx.prompts.sets[run.set_id].outro)
    return [*alert, Reply(text=outro, extra={"run_id": run.id})]


async def edit(event: Inbound, ctx: Context) -> list[Reply]:
    """An edited message replaces the stored answer it was (not a new answer)."""
    assert ctx.student is not None
    answer = await ctx.uow.answers.by_message(ctx.student.id, event.channel, event.message_id)
    if answer is None or answer.text == event.text:
        return []
    answer.text, answer.edited_at = event.text, ctx.now
    if is_urgent(event.text, ctx.prompts.safety.phrases) and not answer.urgent:
        answer.urgent = True
        return [*safety.help_replies(ctx), *await safety.alert_counselor(ctx)]
    return [Reply(text=ctx.t._("Your answer was updated."))]


async def unsend(event: Inbound, ctx: Context) -> list[Reply]:
    """A withdrawn message is hidden from the digest."""
    assert ctx.student is not None
    answer = await ctx.uow.answers.by_message(ctx.student.id, event.channel, event.message_id)
    if answer is not None:
        answer.hidden = True
    return []


async def journal(event: Inbound, ctx: Context) -> list[Reply]:
    """Read back one's own reflections, newest last."""
    assert ctx.student is not None
    t = ctx.t
    answers = [a for a in await ctx.uow.answers.of_student(ctx.student.id) if not a.hidden]
    shown = [a for a in answers if not a.skipped][-20:]
    if not shown:
        return [Reply(text=t._("You have not written any reflections yet."))]
    lines = [t._("Your reflections:")]
    for answer in shown:
        question = ctx.prompts.question(answer.question_id)
        when = t.date(answer.created_at, ctx.student.timezone)
        lines.append(f"\n{when} – {t._(question.text)}")
        lines.append(f"→ {answer_text(ctx, answer.text, answer.choice, answer.scale, t)}")
    return [Reply(text="\n".join(lines))]
