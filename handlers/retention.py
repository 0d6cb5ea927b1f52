"""The daily purge: answers and message payloads older than the retention period go."""

from __future__ import annotations

from datetime import timedelta

from bot.engine.context import Context
from bot.engine.replies import Reply


async def purge(ctx: Context) -> list[Reply]:
    """Delete what is older than FURIKAERI_RETENTION_DAYS. Safe to run again after a crash:
    every step is a plain delete or update of what is still older than the cutoff."""
    cutoff = ctx.now - timedelta(days=ctx.settings.retention_days)
    answers = await ctx.uow.answers.delete_older_than(cutoff)
    inbox = await ctx.uow.inbox.purge_payloads(cutoff)
    outbox = await ctx.uow.outbox.purge_payloads(cutoff)
    await ctx.uow.audit.record(
        at=ctx.now,
        actor="system",
        action="retention.purged",
        answers=answers,
        inbox=inbox,
        outbox=outbox,
        cutoff=cutoff.isoformat(),
    )
    return []
