"""The scheduled digest: once per period, pushed to each counselor at their local time."""

from __future__ import annotations

import dataclasses

from bot.db.models import Counselor
from bot.engine.context import Context
from bot.engine.replies import Recipient, Reply
from bot.scheduling.window import last_weekly
from handlers.digest.build import build_digest
from handlers.digest.chat import overview_replies

JOB_LOCK = "job:digest_push"  # several processes: one pushes, the others see it done


async def push_digests(ctx: Context) -> list[Reply]:
    """Scheduled job: send each linked counselor what is new, once per period (e.g. weekly,
    Monday 09:00 in the counselor's time zone); a period missed while down is sent late."""
    plan = ctx.prompts.schedule.digest_push
    if plan is None:
        return []
    await ctx.uow.lock(JOB_LOCK)
    replies: list[Reply] = []
    for counselor in await ctx.uow.counselors.all():
        slot = last_weekly(ctx.now, counselor.timezone, plan.weekday, plan.time)
        if slot <= (counselor.last_digest_push_at or counselor.created_at):
            continue  # pushed for this period already, or joined after it began
        if not await ctx.uow.accounts.of_counselor(counselor.id):
            continue  # no chat account to push to yet: try again when there is one
        replies.extend(await _push(ctx, counselor))
    return replies


async def _push(ctx: Context, counselor: Counselor) -> list[Reply]:
    """The overview of what is new since the last push or digest, whichever is later. It
    does not mark anything read: the counselor's own /digest still shows it all."""
    marks = [m for m in (counselor.last_digest_at, counselor.last_digest_push_at) if m]
    since = max(marks) if marks else None
    counselor.last_digest_push_at = ctx.now
    built = await build_digest(ctx, counselor, since=since)
    if not built.students:
        return []  # nothing new: the period counts as done, and nobody is disturbed
    await ctx.uow.audit.record(
        at=ctx.now,
        actor="system",
        action="digest.pushed",
        subject=f"counselor:{counselor.id}",
        students=[s.id for s in built.students],
    )
    to = Recipient("counselor", counselor.id)
    replies = overview_replies(ctx, counselor, built, channel=None)
    return [dataclasses.replace(reply, to=to) for reply in replies]
