"""Long polling: fetch updates, hand each over, and only then acknowledge it to Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.telegram_errors import delay_of
from bot.channels.telegram_translate import ALLOWED_UPDATES

logger = logging.getLogger(__name__)

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


class UpdatesRequest(HTTPXRequest):
    """The connection PTB uses for getUpdates only; it blanks updates PTB cannot read.

    PTB parses a whole batch at once, so one unreadable update would fail every fetch and
    stop polling for good. Here it becomes `{"update_id": n}`: logged, translated to
    nothing, and acknowledged like any other update.
    """

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        data = HTTPXRequest.parse_json_payload(payload)
        if data.get("ok") and isinstance(data.get("result"), list):
            data["result"] = [readable_or_blank(raw) for raw in data["result"]]
        return data


def readable_or_blank(raw: Any) -> Any:
    """Return the raw update if PTB can parse it, else only its update id."""
    try:
        Update.de_json(copy.deepcopy(raw), None)
    except Exception as exc:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        logger.error(
            "telegram: update %s is unreadable (%s); skipped", update_id, type(exc).__name__
        )
        logger.debug("telegram: unreadable update", exc_info=True)
        return {"update_id": update_id}
    return raw


class Poller:
    """Run getUpdates in a loop; the offset moves past an update only once it was handled."""

    def __init__(
        self,
        *,
        bot: Bot,
        handle: Callable[[Update], Awaitable[None]],
        poll_timeout: float,
    ) -> None:
        self._bot = bot
        self._handle = handle
        self._poll_timeout = timedelta(seconds=poll_timeout)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._offset: int | None = None
        self._confirmed: int | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self, grace: float) -> None:
        """Let the update in flight finish (up to `grace` seconds), then confirm the offset."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            logger.error("telegram: polling did not stop in time; cancelling it")
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        await self._confirm()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch()
                if updates is None:
                    return
                for update in updates:
                    await self._handle(update)
                    self._offset = update.update_id + 1
                    if self._stopping.is_set():
                        return
                failures = 0
                continue
            except RetryAfter as exc:
                delay = delay_of(exc)
                logger.warning("telegram: polling is flood-limited for %.0f s", delay)
            except TelegramError as exc:
                delay = _backoff(failures)
                logger.warning(
                    "telegram: polling failed (%s); retrying in %.1f s", type(exc).__name__, delay
                )
            except Exception as exc:
                delay = _backoff(failures)
                logger.error(
                    "telegram: an update was not stored (%s); fetching it again in %.1f s",
                    type(exc).__name__,
                    delay,
                )
                logger.debug("telegram: polling failure", exc_info=True)
            failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _fetch(self) -> tuple[Update, ...] | None:
        """Long-poll once; None when stop() interrupted the wait."""
        fetch = asyncio.ensure_future(
            self._bot.get_updates(
                offset=self._offset,
                timeout=self._poll_timeout,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await fetch
            return None
        updates = fetch.result()
        self._confirmed = self._offset
        return updates

    async def _confirm(self) -> None:
        """Tell Telegram which updates are handled, so a restart does not fetch them again."""
        if self._offset is None or self._offset == self._confirmed:
            return
        try:
            await self._bot.get_updates(offset=self._offset, timeout=0, limit=1)
        except TelegramError as exc:
            logger.warning("telegram: could not confirm the offset (%s)", type(exc).__name__)
        else:
            self._confirmed = self._offset


def _backoff(failures: int) -> float:
    return min(MAX_BACKOFF, FIRST_BACKOFF * 2**failures)
