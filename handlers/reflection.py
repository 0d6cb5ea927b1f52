"""Asking one question at a time, keeping each answer as written, and reading them back."""

from __future__ import annotations

from bot.db.models import Run, Student
from bot.db.states import RunState
from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Recipient, Reply
from bot.prompts import Question, QuestionKind, pick_variant
from bot.translate.queue import queue_translation
from handlers import alerts, wording
from handlers.buttons import SCALE, SKIP, YES_NO, AnswerButton
from handlers.common import invalid_button
from handlers.wording import answer_text as answer_text  # its home before wording.py
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
    run.state, run.step = RunState.ACTIVE, 0
    question_set = ctx.prompts.sets[run.set_id]
    t = ctx.tr(student.locale)
    held_at = await wording.session_time(ctx, run)
    text = wording.intro_text(t, question_set, held_at=held_at, now=ctx.now, zone=student.timezone)
    intro = Reply(text=text, to=_to(ctx, student), extra={"run_id": run.id})
    return [intro, *await ask(ctx, run, student)]


async def ask(ctx: Context, run: Run, student: Student, *, reminder: bool = False) -> list[Reply]:
    """The current question of a run, as one message with its buttons."""
    t = ctx.tr(student.locale)
    question = _current_wording(ctx, run)
    held_at = await wording.session_time(ctx, run)
    if reminder:
        run.reminded_at = ctx.now
    else:
        run.asked_at, run.reminded_at = ctx.now, None

    def answer(value: str, label: str) -> Button:
        return AnswerButton(run.id, run.step, value).button(label)

    lines = [f"({run.step + 1}/{len(run.questions)})"]
    if reminder:
        lines.insert(0, t._("A reminder: this question is still open."))
    lines.append(
        wording.question_text(t, question, held_at=held_at, now=ctx.now, zone=student.timezone)
    )
    buttons: list[Button] = []
    columns = 1
    if question.kind == QuestionKind.SCALE:
        lines.append(
            t._("1 = {low}, 5 = {high}", low=t._(question.low or ""), high=t._(question.high or ""))
        )
        buttons = [answer(point, point) for point in SCALE]
        columns = 5
    elif question.kind == QuestionKind.YESNO:
        # Natural answers to this question ("想" / "暂时不用"), worded in prompts/.
        said_yes, said_no = question.answer_yes or "Yes", question.answer_no or "No"
        buttons = [answer("yes", t._(said_yes)), answer("no", t._(said_no))]
        columns = 2
    elif question.kind == QuestionKind.TOPICS:
        topic_ids = await _session_topics(ctx, run)
        # One topic is no choice: then the question is answered in words only.
        for topic_id in topic_ids if len(topic_ids) > 1 else []:
            buttons.append(answer(topic_id, t._(ctx.prompts.topic(topic_id).label)))
        columns = 2
    lines.append(
        t._("Tap a button or write in your own words. You can skip this question.")
        if buttons
        else t._("Write in your own words. You can skip this question.")
    )
    # TRANSLATORS: button label, at most 20 characters
    buttons.append(answer(SKIP, t._("Skip")))
    replies: list[Reply] = []
    if question.kind == QuestionKind.YESNO and run.step == len(run.questions) - 1 and not reminder:
        replies.extend(await mirror(ctx, run, student, before_last=True))
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


def _current_wording(ctx: Context, run: Run) -> Question:
    """The run's question at its step; a retired wording is swapped for a current one."""
    question = ctx.prompts.question(run.questions[run.step])
    if question.retired:  # planned before the wording was retired
        question = pick_variant(ctx.prompts.step_of(question.id), run.questions)
        run.questions = [*run.questions[: run.step], question.id, *run.questions[run.step + 1 :]]
    return question


async def mirror(
    ctx: Context, run: Run, student: Student, *, before_last: bool = False
) -> list[Reply]:
    """Show the student what they wrote in this run, as written, one labelled line each."""
    text = await wording.mirror(ctx, run, student, before_last=before_last)
    if text is None:
        return []
    return [Reply(text=text, to=_to(ctx, student), extra={"run_id": run.id})]


async def answer_text_message(event: Inbound, ctx: Context) -> list[Reply]:
    """Store a typed answer to the current question and ask the next one."""
    assert ctx.student is not None
    run = await ctx.uow.runs.active_of(ctx.student.id)
    if run is None:
        # Not an answer, so not kept. (A message suggesting danger never gets here:
        # handlers/safety.py answers it first.)
        return [
            Reply(
                text=ctx.t._(
                    "Thank you. There is no open question right now. I will write after your next "
                    "session. /journal shows what you wrote before."
                )
            ),
        ]
    if not event.text.strip():
        return [Reply(text=ctx.t._("That message was empty. Please write your answer, or /skip."))]
    question = ctx.prompts.question(run.questions[run.step])
    if question.kind == QuestionKind.YESNO and _typed_yes(ctx, question, event.text):
        # A typed yes counts as pressing Yes (the flag, the alert); the words stay as written.
        return await _record(ctx, run, event, text=event.text, choice="yes")
    return await _record(ctx, run, event, text=event.text)


def _typed_yes(ctx: Context, question: Question, text: str) -> bool:
    """A yes in any of the languages, or the words of this question's Yes button."""
    said_yes = ctx.t._(question.answer_yes) if question.answer_yes else ""
    return means_yes(text, also=(said_yes,))


async def choice(pressed: AnswerButton, event: Inbound, ctx: Context) -> list[Reply]:
    """Store a button answer if it is one the current question offered; else change nothing."""
    assert ctx.student is not None
    run = await ctx.uow.runs.get(pressed.run_id)
    if run is None or run.student_id != ctx.student.id:
        return invalid_button(ctx)
    if run.state != RunState.ACTIVE or run.step != pressed.step:
        return [Reply(text=ctx.t._("That question is already closed."))]
    value = pressed.value
    if value == SKIP:
        return await _record(ctx, run, event, skipped=True)
    question = ctx.prompts.question(run.questions[run.step])
    if question.kind == QuestionKind.SCALE and value in SCALE:
        return await _record(ctx, run, event, scale=int(value))
    if question.kind == QuestionKind.YESNO and value in YES_NO:
        return await _record(ctx, run, event, choice=value)
    if question.kind == QuestionKind.TOPICS and value in await _session_topics(ctx, run):
        return await _record(ctx, run, event, choice=value)
    return invalid_button(ctx)


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
) -> list[Reply]:
    question_id = run.questions[run.step]
    await keep_answer(ctx, run, event, text=text, choice=choice, scale=scale, skipped=skipped)
    assert ctx.student is not None
    alert: list[Reply] = []
    if choice == "yes" and ctx.prompts.step_of(question_id).flag == alerts.WANTS_TO_TALK:
        alert = await alerts.wants_to_talk(ctx, ctx.student)
    if run.state == RunState.ACTIVE:
        return [*alert, *await ask(ctx, run, ctx.student)]
    question_set = ctx.prompts.sets[run.set_id]
    # A set that does not end on yes/no (the follow-ups) ends with the student's own words.
    ends_on_yes_no = question_set.steps[-1].kind == QuestionKind.YESNO
    closing = [] if ends_on_yes_no else await mirror(ctx, run, ctx.student)
    outro = ctx.t._(question_set.outro)
    return [*alert, *closing, Reply(text=outro, extra={"run_id": run.id})]


async def keep_answer(
    ctx: Context,
    run: Run,
    event: Inbound,
    *,
    text: str | None = None,
    choice: str | None = None,
    scale: int | None = None,
    skipped: bool = False,
    urgent: bool = False,
) -> None:
    """Store the answer to the current question and move the run on (done after the last)."""
    assert ctx.student is not None
    answer = await ctx.uow.answers.add(
        run_id=run.id,
        student_id=ctx.student.id,
        question_id=run.questions[run.step],
        text=text,
        choice=choice,
        scale=scale,
        skipped=skipped,
        urgent=urgent,
        channel=event.channel,
        message_id=event.message_id,
        created_at=ctx.now,
    )
    if text:  # translated later, in the background, for a counselor who reads another language
        await queue_translation(
            ctx.uow, ctx.settings, answer=answer, student=ctx.student, now=ctx.now
        )
    run.step += 1
    await _pass_unanswerable(ctx, run)
    if run.step >= len(run.questions):
        run.state, run.finished_at = RunState.DONE, ctx.now


async def _pass_unanswerable(ctx: Context, run: Run) -> None:
    """Move past questions that build on an earlier one the student skipped."""
    while run.step < len(run.questions):
        needs = ctx.prompts.step_of(run.questions[run.step]).only_if_answered
        if needs is None:
            return
        answered = [a.question_id for a in await ctx.uow.answers.of_run(run.id) if not a.skipped]
        if any(ctx.prompts.step_of(qid).id == needs for qid in answered if qid in run.questions):
            return
        run.step += 1


async def edit(event: Inbound, ctx: Context) -> list[Reply]:
    """An edited message replaces the stored answer it was (not a new answer); an edit that
    suggests danger goes to handlers/safety.py first."""
    assert ctx.student is not None
    answer = await ctx.uow.answers.by_message(ctx.student.id, event.channel, event.message_id)
    if answer is None or answer.text == event.text:
        return []
    answer.text, answer.edited_at = event.text, ctx.now
    await queue_translation(
        ctx.uow, ctx.settings, answer=answer, student=ctx.student, now=ctx.now, edited=True
    )
    return [Reply(text=ctx.t._("Your answer was updated."))]


async def unsend(event: Inbound, ctx: Context) -> list[Reply]:
    """A withdrawn message is hidden from the digest."""
    assert ctx.student is not None
    answer = await ctx.uow.answers.by_message(ctx.student.id, event.channel, event.message_id)
    if answer is not None:
        answer.hidden = True
        await ctx.uow.translations.delete_of_answer(answer.id)  # withdrawn: not sent anywhere
    return []


async def journal(event: Inbound, ctx: Context) -> list[Reply]:
    """Read back one's own reflections, newest last, under the date of each session."""
    assert ctx.student is not None
    answers = [a for a in await ctx.uow.answers.of_student(ctx.student.id) if not a.hidden]
    shown = [a for a in answers if not a.skipped][-20:]
    if not shown:
        return [Reply(text=ctx.t._("You have not written any reflections yet."))]
    return [Reply(text=await wording.journal(ctx, ctx.student, shown))]
