"""The composition root: settings in, a running furikaeri out. Nothing is built at import."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, Literal, cast

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import handlers
from bot.channels.base import Channel
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.notify import Listener
from bot.db.uow import Database
from bot.engine.commands import Audience
from bot.engine.core import Engine, EventHandler
from bot.engine.ports import UpdateReader
from bot.engine.watch import InboxWatch
from bot.i18n import SHIPPED_LOCALES
from bot.metrics import Metrics
from bot.prompts import PromptBook, load_prompts
from bot.scheduling.dispatcher import OutboxDispatcher
from bot.scheduling.jobs import Tick, register_jobs
from bot.translate.build import translator_from
from bot.translate.worker import TranslationWorker
from handlers import alerts, digest_push, followups, retention

log = logging.getLogger(__name__)

# What a process does. "web": the HTTP server and the intake (webhooks, Telegram polling)
# only; "worker": handling, the clock ticks and sending; "all": both, in one process.
Role = Literal["all", "web", "worker"]
ROLES: tuple[Role, ...] = ("all", "web", "worker")
STOP_SECONDS = 8.0  # a SIGTERM ends the process within 10 s, whatever is queued
FOLLOWUP_LOOK = timedelta(seconds=1)  # how often the scheduler looks for follow-ups now due
BATCH_PAUSE = timedelta(milliseconds=100)  # between two batches of a scheduled job


class _FinishingExecutor(AsyncIOExecutor):
    """APScheduler's asyncio executor cancels running jobs at shutdown; this one lets the
    caller wait for them first, so a send in flight is recorded as sent."""

    async def finish(self, timeout: float) -> None:
        """Wait for the running jobs, at most `timeout` seconds; then cancel them (a
        claimed outbox row is sent again once its lease runs out: LINE drops the repeat,
        on Telegram it may show twice)."""
        running = [f for f in self._pending_futures if not f.done()]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=timeout)
        if late:
            log.warning("scheduler.jobs_cancelled", extra={"jobs": len(late)})
            for future in late:
                future.cancel()
            await asyncio.gather(*late, return_exceptions=True)


@dataclass
class App:
    settings: Settings
    db: Database
    engine: Engine
    dispatcher: OutboxDispatcher
    channels: dict[str, Any] = field(default_factory=dict)
    scheduler: AsyncIOScheduler | None = None
    jobs: _FinishingExecutor | None = None
    translations: TranslationWorker | None = None  # None unless FURIKAERI_TRANSLATOR is set
    role: Role = "all"
    metrics: Metrics = field(default_factory=Metrics)
    watch: InboxWatch | None = None

    @property
    def handles_events(self) -> bool:
        return self.role != "web"


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: dict[str, Channel] | None = None,
    prompts: PromptBook | None = None,
    handle: EventHandler = handlers.handle,
    role: Role = "all",
) -> App:
    """Wire database, engine, channels and dispatcher. Channels come from the settings
    unless given (the demo passes its console); events go to the features' router unless
    another handler is given (tests wrap it to make it fail)."""
    clock = clock or SystemClock()
    prompts = prompts or prompt_book(settings)
    db = Database(create_engine(settings.database_url, name=f"furikaeri-{role}"))
    # On PostgreSQL several processes may handle events (workers, or more than one `run`):
    # each student's events are then serialized by an advisory lock. SQLite has one.
    db.shared = db.is_postgres and role != "web"
    metrics = Metrics()
    links: dict[str, str] = {}
    engine = Engine(
        db=db,
        handle=handle,
        prompts=prompts,
        settings=settings,
        clock=clock,
        links=links,
        screen=handlers.screen_before_consent,
        commands=handlers.COMMANDS,
        metrics=metrics,
    )
    # Not before the channels are started (see start()): until then, webhooks are only
    # committed to the inbox.
    engine.handles_events = False
    if channels is None:
        channels = _channels_from(settings, engine)
    metrics.show_channels(channels)
    engine.readers = {
        name: cast(UpdateReader, ch) for name, ch in channels.items() if hasattr(ch, "read")
    }
    if settings.telegram_bot_username:
        links["telegram"] = f"https://t.me/{settings.telegram_bot_username}?start={{code}}"
    dispatcher = OutboxDispatcher(db=db, channels=channels, clock=clock)
    engine.sender = dispatcher
    translator = translator_from(settings)

    async def alert_unreachable(student_id: int) -> int:
        return await engine.run_job(partial(alerts.found_unreachable, student_id=student_id))

    # A send that finds the student gone alerts the counselor (bot/ knows no features).
    dispatcher.on_unreachable = alert_unreachable
    return App(
        settings=settings,
        db=db,
        engine=engine,
        dispatcher=dispatcher,
        channels=dict(channels),
        translations=(
            TranslationWorker(db=db, translator=translator, clock=clock) if translator else None
        ),
        role=role,
        metrics=metrics,
    )


def prompt_book(settings: Settings) -> PromptBook:
    """Load the prompts the settings point at: the shipped ones, or a deployment's own from
    FURIKAERI_PROMPTS_DIR (`build`, the CLI and `furikaeri doctor` share it)."""
    return load_prompts(schedule_file=settings.schedule_file, overrides=settings.prompts_dir)


def _channels_from(settings: Settings, engine: Engine) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel  # lazy: PTB loads only if configured

        secret = settings.telegram_webhook_secret
        channels["telegram"] = TelegramChannel(
            token=settings.telegram_token.get_secret_value(),
            sink=engine,
            api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=secret.get_secret_value() if secret else None,
            poll_timeout=settings.telegram_poll_timeout,
            request_timeout=settings.api_timeout,
            messages_per_second=settings.telegram_messages_per_second,
        )
    if settings.line_channel_secret is not None and settings.line_channel_access_token is not None:
        from bot.channels.line import LineChannel  # lazy: line-bot-sdk loads only if configured

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
    """Migrate, start the channels, then (unless web-only) the handling of the inbox and the
    clock ticks. With the scheduler, what waited while the process was down (events, due
    messages) is handled in the background: `furikaeri run` already serves webhooks then.
    Without it (tests), it is handled before this returns."""
    if migrate:
        await upgrade(app.db.engine)
    for channel in app.channels.values():
        if hasattr(channel, "start"):
            await channel.start(receive=app.role != "worker", send=app.role != "web")
    if "telegram" in app.channels and app.role != "worker":
        await register_telegram_menus(app)
    if not app.handles_events:
        return
    # Events the web server took while the channels started (the LINE SDK is imported
    # then) wait in the inbox: the first look at it, below, reads them.
    app.engine.handles_events = True
    if not with_scheduler:
        await app.engine.process_pending()
        await app.dispatcher.tick()
        return
    listener = (
        Listener(app.settings.database_url, lambda: _wake(app), name=f"furikaeri-{app.role}")
        if app.db.is_postgres
        else None
    )
    app.watch = InboxWatch(app.engine, listener, local=app.role == "all")
    app.watch.start()
    app.jobs = _FinishingExecutor()
    app.scheduler = AsyncIOScheduler(timezone="UTC", executors={"default": app.jobs})
    register_jobs(app.scheduler, scheduled_jobs(app))
    app.scheduler.start()


async def metrics_text(app: App) -> bytes:
    """GET /metrics: the queue sizes as the database has them now, and this process's
    counters (sends, failures, handling latency)."""
    await app.metrics.refresh(app.db, app.engine.clock.now(), app.channels)
    return app.metrics.render()


def _wake(app: App) -> None:
    if app.watch is not None:
        app.watch.wake()


def scheduled_jobs(app: App) -> list[Tick]:
    """The clock ticks: what runs, and how often. Each one reads its work from the database."""
    engine = app.engine
    followups_running = asyncio.Lock()  # the full run and the quick start take turns

    async def start_followups() -> None:
        # In committed batches; each batch's messages go out while the next one is started.
        batches = followups.InBatches(followups.start_due_page)
        while not batches.finished:
            await engine.run_job(batches, wait_for_sending=False)
            if not batches.finished:
                # Let the sender write between batches (SQLite has one writer at a time).
                await asyncio.sleep(BATCH_PAUSE.total_seconds())

    async def run_followups() -> None:
        # Expire, then start, then remind: an expired run makes room for the next one.
        async with followups_running:
            await engine.run_job(followups.expire_runs)
            await start_followups()
            reminders = followups.InBatches(followups.remind_page)
            while not reminders.finished:
                await engine.run_job(reminders, wait_for_sending=False)
                await asyncio.sleep(BATCH_PAUSE.total_seconds())

    async def start_due_followups() -> None:
        # A cheap look every second, so a follow-up starts within about a second of its due
        # time, whichever process (or `furikaeri session`) planned it.
        if followups_running.locked():
            return  # they are being started (or the full run is on)
        async with app.db.uow() as uow:
            if not await followups.any_due_to_start(engine.context(uow)):
                return
        async with followups_running:
            await start_followups()

    async def push_digests() -> None:
        await engine.run_job(digest_push.push_digests)

    async def dispatch() -> None:
        app.dispatcher.send_soon()  # the background sender goes on while anything is due

    async def purge() -> None:
        await engine.run_job(retention.purge)

    return [
        # At start too (after the web server is up, see bot/runner.py): what fell due while
        # the process was down goes to the background sender, which goes on while anything is
        # due; the tick finds retries and other processes' rows.
        Tick("dispatch", timedelta(seconds=2), dispatch),
        Tick("followups", timedelta(seconds=60), run_followups),
        Tick("followups_due", FOLLOWUP_LOOK, start_due_followups, at_start=False, instances=2),
        Tick("digest_push", timedelta(seconds=60), push_digests),
        Tick("retention", timedelta(hours=24), purge),
        # The inbox is not a tick: InboxWatch (bot/engine/watch.py) handles it as it fills.
        # Answers waiting for a machine translation (only when FURIKAERI_TRANSLATOR is set).
        *(
            [Tick("translate", timedelta(seconds=15), app.translations.tick)]
            if app.translations
            else []
        ),
    ]


async def stop(app: App, *, timeout: float = STOP_SECONDS) -> None:
    """Stop taking updates, finish the events and sends in flight (for at most about
    `timeout` seconds in all), close everything. What is still queued stays in the
    database for the next start, or for another worker."""
    share = timeout / 3
    for channel in app.channels.values():
        if hasattr(channel, "stop_receiving"):
            await channel.stop_receiving()
    if app.watch is not None:
        await app.watch.stop()
        app.watch = None
    if app.scheduler is not None:
        app.scheduler.pause()  # no new ticks; the running ones finish their round
        await app.dispatcher.finish(share)
        if app.jobs is not None:
            await app.jobs.finish(share)
        app.scheduler.shutdown(wait=False)
        app.scheduler, app.jobs = None, None
    await app.engine.stop_handling(share)
    for channel in app.channels.values():
        if hasattr(channel, "stop"):
            await channel.stop()
    if app.translations is not None:
        await app.translations.translator.aclose()
    await app.db.dispose()


async def register_telegram_menus(app: App) -> None:
    """Set Telegram's command menus from the declared commands: students' per language,
    counselors' per chat.

    A menu that cannot be set is logged and skipped: the bot works without it.
    """
    from bot.channels.telegram import CommandMenu, menu_language  # lazy: PTB only when used

    channel, book = app.channels["telegram"], app.engine.commands
    wanted: list[CommandMenu] = []
    default = book.menu(Audience.STUDENT, app.settings.default_locale)
    if default is not None:
        wanted.append(CommandMenu(default))
    seen: set[str] = set()
    for locale in SHIPPED_LOCALES:
        code = menu_language(locale)
        if code is None or code in seen:
            continue  # zh_Hant shares Telegram's "zh" with zh_Hans, listed first
        seen.add(code)
        commands = book.menu(Audience.STUDENT, locale)
        if commands is not None:
            wanted.append(CommandMenu(commands, language_code=code))
    async with app.db.uow() as uow:
        for counselor in await uow.counselors.all():
            commands = book.menu(Audience.COUNSELOR, counselor.locale)
            for account in await uow.accounts.of_counselor(counselor.id):
                if account.channel == "telegram" and commands is not None:
                    wanted.append(CommandMenu(commands, chat_id=account.chat_id))
    for menu in wanted:
        try:
            await channel.register_commands([menu])
        except Exception as exc:
            log.warning("telegram.menu_not_set", extra={"error": type(exc).__name__})
