"""The composition root: settings in, a running furikaeri out. Nothing is built at import."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import handlers
from bot import menus
from bot.channels.base import Channel
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.uow import Database
from bot.engine.core import Engine
from bot.i18n import SHIPPED_LOCALES
from bot.prompts import PromptBook, load_prompts
from bot.scheduling.dispatcher import OutboxDispatcher
from bot.scheduling.jobs import register_jobs
from handlers import alerts

log = logging.getLogger(__name__)

STOP_SENDING_SECONDS = 4.0  # at shutdown, replies of the last events may go out this long


class _FinishingExecutor(AsyncIOExecutor):
    """APScheduler's asyncio executor cancels running jobs at shutdown; this one lets the
    caller wait for them first, so a send in flight is recorded as sent."""

    async def finish(self) -> None:
        running = [f for f in self._pending_futures if not f.done()]
        if running:
            await asyncio.gather(*running, return_exceptions=True)


@dataclass
class App:
    settings: Settings
    db: Database
    engine: Engine
    dispatcher: OutboxDispatcher
    channels: dict[str, Any] = field(default_factory=dict)
    scheduler: AsyncIOScheduler | None = None
    jobs: _FinishingExecutor | None = None


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: dict[str, Channel] | None = None,
    prompts: PromptBook | None = None,
) -> App:
    """Wire database, engine, channels and dispatcher. Channels come from the settings
    unless given (the demo passes its console)."""
    clock = clock or SystemClock()
    prompts = prompts or load_prompts(schedule_file=settings.schedule_file)
    db = Database(create_engine(settings.database_url))
    links: dict[str, str] = {}
    engine = Engine(
        db=db, handle=handlers.handle, prompts=prompts, settings=settings, clock=clock, links=links
    )
    if channels is None:
        channels = _channels_from(settings, engine)
    if settings.telegram_bot_username:
        links["telegram"] = f"https://t.me/{settings.telegram_bot_username}?start={{code}}"
    dispatcher = OutboxDispatcher(db=db, channels=channels, clock=clock)
    engine.sender = dispatcher

    async def alert_unreachable(student_id: int) -> int:
        return await engine.run_job(partial(alerts.found_unreachable, student_id=student_id))

    dispatcher.on_unreachable = alert_unreachable
    return App(
        settings=settings, db=db, engine=engine, dispatcher=dispatcher, channels=dict(channels)
    )


def _channels_from(settings: Settings, engine: Engine) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel

        secret = settings.telegram_webhook_secret
        channels["telegram"] = TelegramChannel(
            token=settings.telegram_token.get_secret_value(),
            sink=engine,
            api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=secret.get_secret_value() if secret else None,
            poll_timeout=settings.telegram_poll_timeout,
            request_timeout=settings.api_timeout,
        )
    if settings.line_channel_secret is not None and settings.line_channel_access_token is not None:
        from bot.channels.line import LineChannel

        channels["line"] = LineChannel(
            channel_secret=settings.line_channel_secret.get_secret_value(),
            access_token=settings.line_channel_access_token.get_secret_value(),
            sink=engine,
            api_url=settings.line_api_url,
            messages_per_second=settings.line_messages_per_second,
            request_timeout=settings.api_timeout,
        )
    return channels


async def start(app: App, *, migrate: bool = True, with_scheduler: bool = True) -> None:
    """Migrate, start the channels, pick up what a crash left, start the clock ticks."""
    if migrate:
        await upgrade(app.db.engine)
    for channel in app.channels.values():
        if hasattr(channel, "start"):
            await channel.start()
    if "telegram" in app.channels:
        await register_telegram_menus(app)
    await app.engine.process_pending()
    if not with_scheduler:
        await app.dispatcher.tick()
        return
    # What was left queued goes out from the dispatch tick, which runs at once: a long
    # queue never holds up the start (nor, later, a stop).
    app.jobs = _FinishingExecutor()
    app.scheduler = AsyncIOScheduler(timezone="UTC", executors={"default": app.jobs})
    register_jobs(app.scheduler, app)
    app.scheduler.start()


async def stop(app: App) -> None:
    """Stop taking updates, finish the ones in flight, send for a few seconds more, close
    everything. What is still queued then stays queued for the next start: a long queue
    never holds the process (SIGTERM ends it within 10 s)."""
    for channel in app.channels.values():
        if hasattr(channel, "stop_receiving"):
            await channel.stop_receiving()
    deadline = asyncio.get_running_loop().time() + STOP_SENDING_SECONDS
    app.dispatcher.begin_stop()  # the running dispatch tick ends after its current round
    if app.scheduler is not None:
        app.scheduler.pause()  # no new ticks; the running ones finish
        if app.jobs is not None:
            await app.jobs.finish()
        app.scheduler.shutdown(wait=False)
        app.scheduler, app.jobs = None, None
    await app.engine.drain()
    app.dispatcher.resume()
    await app.dispatcher.flush(max(0.5, deadline - asyncio.get_running_loop().time()))
    for channel in app.channels.values():
        if hasattr(channel, "stop"):
            await channel.stop()
    await app.db.dispose()


async def register_telegram_menus(app: App) -> None:
    """Set Telegram's command menus: students' per language, counselors' per chat.

    A menu that cannot be set is logged and skipped: the bot works without it.
    """
    from bot.channels.telegram import CommandMenu, menu_language

    channel = app.channels["telegram"]
    wanted: list[CommandMenu] = []
    default = menus.menu(menus.STUDENT_COMMANDS, app.settings.default_locale)
    if default is not None:
        wanted.append(CommandMenu(default))
    seen: set[str] = set()
    for locale in SHIPPED_LOCALES:
        code = menu_language(locale)
        if code is None or code in seen:
            continue  # zh_Hant shares Telegram's "zh" with zh_Hans, listed first
        seen.add(code)
        commands = menus.menu(menus.STUDENT_COMMANDS, locale)
        if commands is not None:
            wanted.append(CommandMenu(commands, language_code=code))
    async with app.db.uow() as uow:
        for counselor in await uow.counselors.all():
            commands = menus.menu(menus.COUNSELOR_COMMANDS, counselor.locale)
            for account in await uow.accounts.of_counselor(counselor.id):
                if account.channel == "telegram" and commands is not None:
                    wanted.append(CommandMenu(commands, chat_id=account.chat_id))
    for menu in wanted:
        try:
            await channel.register_commands([menu])
        except Exception as exc:
            log.warning("telegram.menu_not_set", extra={"error": type(exc).__name__})
