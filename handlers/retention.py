"""The daily purge: answers, messages, payloads and codes older than the retention period go."""

from __future__ import annotations

from datetime import timedelta

from bot.engine.context import Context
from bot.engine.replies import Reply
from handlers.onboarding import CODE_WINDOW


async def purge(ctx: Context) -> list[Reply]:
    """Delete what is older than FURIKAERI_RETENTION_DAYS, then scrub the database files.

    Safe to run again after a crash: it is one transaction of plain deletes and updates of
    whatever is still older than the cutoff, so a crash before the commit leaves everything
    for the next run, and the scrub runs after every commit, found work or not.
    """
    uow = ctx.uow
    cutoff = ctx.now - timedelta(days=ctx.settings.retention_days)
    answers = await uow.answers.delete_older_than(cutoff)
    inbox_payloads = await uow.inbox.purge_payloads(cutoff)
    inbox_events = await uow.inbox.delete_handled_before(cutoff)
    outbox_payloads = await uow.outbox.purge_payloads(cutoff)
    outbox_messages = await uow.outbox.delete_finished_before(cutoff)
    codes = await uow.codes.delete_expired_before(cutoff)
    await uow.code_attempts.delete_before(ctx.now - CODE_WINDOW)  # they count for minutes
    await uow.audit.record(
        at=ctx.now,
        actor="system",
        action="retention.purged",
        cutoff=cutoff.isoformat(),
        answers=answers,
        inbox_payloads=inbox_payloads,
        inbox_events=inbox_events,
        outbox_payloads=outbox_payloads,
        outbox_messages=outbox_messages,
        codes=codes,
    )
    uow.scrub_after_commit()
    return []
