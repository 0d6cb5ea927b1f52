"""Between sessions: plan the runs after a session, start them when due, remind, expire.

Every state change is a conditional update (scheduled -> active, one reminder per
question), so a scheduled job and the student's own message, or two processes on one
PostgreSQL, never start or remind the same question twice.
"""

from __future__ import annotations

from bot.db.models import CounselingSession, Run, Student
from bot.db.states import RunState
from bot.engine.context import Context
from bot.engine.replies import Reply
from bot.prompts import pick_variant
from bot.scheduling.window import in_window, next_window_start
from handlers import reflection

JOB_LOCK = "job:followups"  # the follow-up jobs of several processes take turns
PAGE = 100


async def plan_after_session(
    ctx: Context, student: Student, session: CounselingSession
) -> list[Run]:
    """Cancel what is pending from the last session; plan the reflection and follow-ups.

    A new session also ends a pause after a crisis message: the counselor has seen them."""
    student.pause_reason = None
    cancelled = await ctx.uow.runs.cancel_open(student.id, ctx.now)
    await ctx.uow.outbox.cancel_for_runs(cancelled)
    schedule = ctx.prompts.schedule
    plan = [("reflection", ctx.now + schedule.reflection_delay)]
    plan += [(f.set, session.held_at + f.after) for f in schedule.followups]
    runs = []
    for set_id, due in plan:
        used = await ctx.uow.runs.used_questions(student.id)
        questions = [pick_variant(step, used).id for step in ctx.prompts.sets[set_id].steps]
        runs.append(
            await ctx.uow.runs.add(
                student_id=student.id,
                session_id=session.id,
                set_id=set_id,
                questions=questions,
                due_at=due,
            )
        )
    return runs


def in_send_window(ctx: Context, student: Student) -> bool:
    """Whether it is inside the daily send window in the student's time zone (or no window)."""
    window = ctx.prompts.schedule.send_window
    return window is None or in_window(ctx.now, student.timezone, window)


async def start_due_for(ctx: Context, student: Student, *, immediate: bool = True) -> list[Reply]:
    """Start the oldest due run of one student, unless one is already open.

    `immediate`: the student (or their counselor, right after a session) is there now, so
    the send window does not apply; scheduled starts pass False."""
    if not student.may_receive(ctx.now) or await ctx.uow.runs.active_of(student.id) is not None:
        return []
    for run in await ctx.uow.runs.open_of(student.id):
        if run.state == RunState.SCHEDULED and run.due_at <= ctx.now:
            if not immediate and not in_send_window(ctx, student):
                return []
            if not await ctx.uow.runs.mark_started(run.id):
                return []  # started or cancelled meanwhile
            return await reflection.start_run(ctx, run, student)
    return []


async def resume_for(ctx: Context, student: Student) -> list[Reply]:
    """After /resume or an unblock: ask the open question again, or start what is due."""
    if not student.may_receive(ctx.now):
        return []
    run = await ctx.uow.runs.active_of(student.id)
    if run is not None:
        return await reflection.ask(ctx, run, student)
    return await start_due_for(ctx, student)


async def start_due_runs(ctx: Context) -> list[Reply]:
    """Scheduled job: start follow-ups whose time has come, inside the student's window;
    outside it, a run waits for the window to open."""
    await ctx.uow.lock(JOB_LOCK)
    replies: list[Reply] = []
    seen: set[int] = set()
    after_id = 0
    while runs := await ctx.uow.runs.due_to_start(ctx.now, after_id=after_id, limit=PAGE):
        after_id = runs[-1].id
        for run in runs:
            if run.student_id in seen:
                continue
            seen.add(run.student_id)
            student = await ctx.uow.students.get(run.student_id)
            if student is None:
                continue
            window = ctx.prompts.schedule.send_window
            if window is not None and not in_send_window(ctx, student):
                run.due_at = next_window_start(ctx.now, student.timezone, window)
                continue
            replies.extend(await start_due_for(ctx, student, immediate=False))
    return replies


async def send_reminders(ctx: Context) -> list[Reply]:
    """Scheduled job: one gentle reminder for a question left unanswered, inside the window."""
    after = ctx.prompts.schedule.reminder_after
    if after is None:
        return []
    await ctx.uow.lock(JOB_LOCK)
    cutoff = ctx.now - after
    replies: list[Reply] = []
    after_id = 0
    while runs := await ctx.uow.runs.needing_reminder(
        cutoff, now=ctx.now, after_id=after_id, limit=PAGE
    ):
        after_id = runs[-1].id
        for run in runs:
            student = await ctx.uow.students.get(run.student_id)
            if student is None or not in_send_window(ctx, student):
                continue
            if await ctx.uow.runs.mark_reminded(
                run.id, step=run.step, asked_before=cutoff, now=ctx.now
            ):
                replies.extend(await reflection.ask(ctx, run, student, reminder=True))
    return replies


async def expire_runs(ctx: Context) -> list[Reply]:
    """Scheduled job: a question unanswered for too long closes, and so does a follow-up
    that could not start in that time; the digest shows them as unanswered."""
    await ctx.uow.lock(JOB_LOCK)
    cutoff = ctx.now - ctx.prompts.schedule.expire_after
    expired = await ctx.uow.runs.expire_overdue(asked_before=cutoff, due_before=cutoff, now=ctx.now)
    await ctx.uow.outbox.cancel_for_runs(expired)
    return []
