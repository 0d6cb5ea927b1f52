"""Between sessions: plan the runs after a session, start them when due, remind, expire.

Every state change is a conditional update (scheduled -> active, one reminder per
question), so a scheduled job and the student's own message, or two processes on one
PostgreSQL, never start or remind the same question twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.db.models import CounselingSession, Run, Student
from bot.db.states import RunState
from bot.engine.context import Context
from bot.engine.replies import Reply
from bot.prompts import pick_variant
from bot.scheduling.window import in_window, next_window_start
from handlers import reflection

JOB_LOCK = "job:followups"  # the follow-up jobs of several processes take turns
PAGE = 100
BATCH = 50  # students per unit of work when the scheduler starts or reminds (see InBatches)

# One page of a scheduled job: (ctx, after this run id, at most this many) -> the replies,
# and the last run id looked at (None when the page was the last one).
Page = Callable[[Context, int, int], Awaitable[tuple[list[Reply], int | None]]]


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


class InBatches:
    """A scheduled job run as several units of work of `size` runs each (the engine commits
    each one and sends its messages while the next is prepared): no transaction holds the
    database for long, however many students are due at once. Run it until `finished`."""

    def __init__(self, page: Page, size: int = BATCH) -> None:
        self.page, self.size = page, size
        self.after_id = 0
        self.finished = False

    async def __call__(self, ctx: Context) -> list[Reply]:
        replies, last = await self.page(ctx, self.after_id, self.size)
        if last is None:
            self.finished = True
        else:
            self.after_id = last
        return replies


async def _all_pages(ctx: Context, page: Page) -> list[Reply]:
    replies: list[Reply] = []
    after_id: int | None = 0
    while after_id is not None:
        more, after_id = await page(ctx, after_id, PAGE)
        replies.extend(more)
    return replies


async def start_due_runs(ctx: Context) -> list[Reply]:
    """Scheduled job: start follow-ups whose time has come, inside the student's window;
    outside it, a run waits for the window to open. All in one unit of work (the scheduler
    runs `start_due_page` in batches instead)."""
    return await _all_pages(ctx, start_due_page)


async def start_due_page(ctx: Context, after_id: int, limit: int) -> tuple[list[Reply], int | None]:
    """Start the due runs after `after_id`, at most `limit` of them (see start_due_runs)."""
    await ctx.uow.lock(JOB_LOCK)
    runs = await ctx.uow.runs.due_to_start(ctx.now, after_id=after_id, limit=limit)
    await ctx.uow.students.many({run.student_id for run in runs})
    replies: list[Reply] = []
    seen: set[int] = set()
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
    return replies, (runs[-1].id if len(runs) == limit else None)


async def any_due_to_start(ctx: Context) -> bool:
    """Whether a run waits to be started now (a cheap look, every second or so)."""
    return bool(await ctx.uow.runs.due_to_start(ctx.now, limit=1))


async def send_reminders(ctx: Context) -> list[Reply]:
    """Scheduled job: one gentle reminder for a question left unanswered, inside the window.
    All in one unit of work (the scheduler runs `remind_page` in batches instead)."""
    return await _all_pages(ctx, remind_page)


async def remind_page(ctx: Context, after_id: int, limit: int) -> tuple[list[Reply], int | None]:
    """Remind about the runs after `after_id`, at most `limit` of them (see send_reminders)."""
    after = ctx.prompts.schedule.reminder_after
    if after is None:
        return [], None
    await ctx.uow.lock(JOB_LOCK)
    cutoff = ctx.now - after
    replies: list[Reply] = []
    runs = await ctx.uow.runs.needing_reminder(cutoff, now=ctx.now, after_id=after_id, limit=limit)
    for run in runs:
        student = await ctx.uow.students.get(run.student_id)
        if student is None or not in_send_window(ctx, student):
            continue
        if await ctx.uow.runs.mark_reminded(
            run.id, step=run.step, asked_before=cutoff, now=ctx.now
        ):
            replies.extend(await reflection.ask(ctx, run, student, reminder=True))
    return replies, (runs[-1].id if len(runs) == limit else None)


async def expire_runs(ctx: Context) -> list[Reply]:
    """Scheduled job: a question unanswered for too long closes, and so does a follow-up
    that could not start in that time; the digest shows them as unanswered."""
    await ctx.uow.lock(JOB_LOCK)
    cutoff = ctx.now - ctx.prompts.schedule.expire_after
    expired = await ctx.uow.runs.expire_overdue(asked_before=cutoff, due_before=cutoff, now=ctx.now)
    await ctx.uow.outbox.cancel_for_runs(expired)
    return []
