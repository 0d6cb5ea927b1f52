"""The composition root: settings in, a running furikaeri out. Nothing is built at import."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

import handlers
from bot.channels.base import Channel
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.uow import Database
from bot.engine.core import Engine
from bot.prompts import PromptBook, load_prompts
from bot.scheduling.dispatcher import OutboxDispatcher
from bot.scheduling.jobs import register_jobs

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    engine: Engine
    dispatcher: OutboxDispatcher
    channels: dict[str, Any] = field(default_factory=dict)
    scheduler: AsyncIOScheduler | None = None


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
        )
    if settings.line_channel_secret is not None and settings.line_channel_access_token is not None:
        from bot.channels.line import LineChannel

        channels["line"] = LineChannel(
            channel_secret=settings.line_channel_secret.get_secret_value(),
            access_token=settings.line_channel_access_token.get_secret_value(),
            sink=engine,
            api_url=settings.line_api_url,
            messages_per_second=settings.line_messages_per_second,
        )
    return channels


async def start(app: App, *, migrate: bool = True, with_scheduler: bool = True) -> None:
    """Migrate, start the channels, pick up what a crash left, start the clock ticks."""
    if migrate:
        await upgrade(app.db.engine)
    for channel in app.channels.values():
        if hasattr(channel, "start"):
            await channel.start()
    await app.engine.process_pending()
    await app.dispatcher.tick()
    if with_scheduler:
        app.scheduler = AsyncIOScheduler(timezone="UTC")
        register_jobs(app.scheduler, app)
        app.scheduler.start()


async def stop(app: App) -> None:
    """Stop taking updates, finish the ones in flight, flush sends, close everything."""
    if app.scheduler is not None:
        app.scheduler.shutdown(wait=False)
    await app.engine.drain()
    await app.dispatcher.tick()
    for channel in app.channels.values():
        if hasattr(channel, "stop"):
            await channel.stop()
    await app.db.dispose()
