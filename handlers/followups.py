"""Between sessions: plan the runs after a session, start them when due, remind, expire."""

from __future__ import annotations

from datetime import timedelta

from bot.db.models import CounselingSession, Run, Student
from bot.engine.context import Context
from bot.engine.replies import Reply
from bot.prompts import pick_variant
from bot.scheduling.window import in_window, next_window_start
from handlers import reflection


async def plan_after_session(
    ctx: Context, student: Student, session: CounselingSession
) -> list[Run]:
    """Cancel what is pending from the last session; plan the reflection and follow-ups."""
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


def _can_send(ctx: Context, student: Student) -> bool:
    paused = student.paused_until is not None and student.paused_until > ctx.now
    return (
        student.consent == "given"
        and student.status == "active"
        and student.reachable
        and not paused
    )


def _window_opens(ctx: Context, student: Student) -> bool:
    window = ctx.prompts.schedule.send_window
    return window is None or in_window(ctx.now, student.timezone, window.start, window.end)


async def start_due_for(ctx: Context, student: Student, *, immediate: bool = True) -> list[Reply]:
    """Start the oldest due run of one student, unless one is already open."""
    if not _can_send(ctx, student) or await ctx.uow.runs.active_of(student.id) is not None:
        return []
    for run in await ctx.uow.runs.open_of(student.id):
        if run.state == "scheduled" and run.due_at <= ctx.now:
            if not immediate and not _window_opens(ctx, student):
                return []
            return await reflection.start_run(ctx, run, student)
    return []


async def start_due_runs(ctx: Context) -> list[Reply]:
    """Scheduled job: start follow-ups whose time has come, inside the student's window."""
    replies: list[Reply] = []
    started: set[int] = set()
    for run in await ctx.uow.runs.due_to_start(ctx.now):
        if run.student_id in started:
            continue
        student = await ctx.uow.students.get(run.student_id)
        if student is None:
            continue
        window = ctx.prompts.schedule.send_window
        if window is not None and not in_window(
            ctx.now, student.timezone, window.start, window.end
        ):
            run.due_at = next_window_start(ctx.now, student.timezone, window.start, window.end)
            continue
        opened = await start_due_for(ctx, student, immediate=False)
        if opened:
            started.add(student.id)
            replies.extend(opened)
    return replies


async def send_reminders(ctx: Context) -> list[Reply]:
    """Scheduled job: one gentle reminder for a question left unanswered."""
    after = ctx.prompts.schedule.reminder_after
    if after is None:
        return []
    replies: list[Reply] = []
    for run in await ctx.uow.runs.needing_reminder(ctx.now - after):
        student = await ctx.uow.students.get(run.student_id)
        if student is None or not _can_send(ctx, student) or not _window_opens(ctx, student):
            continue
        replies.extend(await reflection.ask(ctx, run, student, reminder=True))
    return replies


async def expire_runs(ctx: Context) -> list[Reply]:
    """Scheduled job: a question unanswered for too long closes; the digest shows it."""
    expire_after: timedelta = ctx.prompts.schedule.expire_after
    for run in await ctx.uow.runs.expiring(ctx.now - expire_after):
        run.state, run.finished_at = "expired", ctx.now
    return []
