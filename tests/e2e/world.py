"""A World: the real app on the real database, talking to the fake Telegram and LINE
servers through the real SDKs, with webhooks posted to the real Starlette app."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from bot.bootstrap import App, build, metrics_text, start, stop
from bot.clock import ManualClock
from bot.config import load_settings
from bot.web import create_app
from handlers import admin
from tests.fakes.line_api import (
    LineApiFake,
    SentMessage,
    line_event_postback,
    line_event_text,
    signed_body,
)
from tests.fakes.server import LocalServer
from tests.fakes.telegram_api import FakeTelegram

TG_TOKEN = "123456:E2E-telegram-token"
TG_SECRET = "e2e-Webhook_secret-42"
TG_HOOK = "https://furikaeri.example.ac.jp/webhook/telegram"
LINE_SECRET = "e2e-line-channel-secret"
LINE_TOKEN = "e2e-line-access-token"
DEADLINE = 10.0  # seconds a wait-until helper waits before failing


async def eventually(condition: Callable[[], bool], what: str = "condition") -> None:
    """Wait until `condition()` holds, polling; fail after DEADLINE seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not met within {DEADLINE} s")
        await asyncio.sleep(0.01)


class World:
    """A running furikaeri (one App), its web app, a clock, and drivers for both chat apps."""

    def __init__(
        self,
        *,
        settings: dict[str, Any],
        clock: ManualClock,
        tg: FakeTelegram | None,
        line: LineApiFake | None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.tg = tg
        self.line = line
        self.app: App | None = None
        self.client: httpx.AsyncClient | None = None

    @property
    def polling(self) -> bool:
        return self.tg is not None and not self.settings.get("telegram_webhook_url")

    async def open(self) -> World:
        app = build(load_settings(**self.settings), clock=self.clock)
        for channel in app.channels.values():
            # Per-chat pacing waits in real time (1 s on Telegram); the flows here are quick.
            channel.limits = dataclasses.replace(channel.limits, per_chat_interval=0.0)
        await start(app, with_scheduler=False)
        web = create_app(webhooks=app.channels, ping=app.db.ping, metrics=lambda: metrics_text(app))
        transport = httpx.ASGITransport(app=web, client=("149.154.167.220", 443))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://furikaeri.test")
        self.app = app
        return self

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        if self.app is not None:
            await stop(self.app)
            self.app = None

    async def restart(self) -> None:
        """Stop this process's app and start a new one on the same database."""
        await self.close()
        await self.open()

    @property
    def running(self) -> App:
        assert self.app is not None
        return self.app

    async def settle(self) -> None:
        """Wait until every event received so far is handled and its replies sent."""
        await self.running.engine.drain()

    async def tick(self, advance: timedelta = timedelta(0)) -> None:
        """Move the clock and run what the scheduler would run."""
        from handlers import followups

        self.clock.advance(advance)
        for job in (followups.expire_runs, followups.start_due_runs, followups.send_reminders):
            await self.running.engine.run_job(job)
        await self.running.dispatcher.tick()

    # -- set-up -------------------------------------------------------------------------
    async def add_counselor(self, name: str = "Sato", locale: str = "en") -> tuple[int, str]:
        return await admin.add_counselor(
            self.running.engine, name=name, locale=locale, is_admin=False
        )

    async def rows(self, model: type[Any], **where: Any) -> list[Any]:
        """Rows of a table (a model class), filtered by column values."""
        from sqlalchemy import select

        async with self.running.db.uow() as uow:
            found = list((await uow.session.scalars(select(model).filter_by(**where))).all())
            uow.session.expunge_all()  # readable after the session closes
            return found

    # -- Telegram -----------------------------------------------------------------------
    async def tg_post(self, update: dict[str, Any], *, secret: str | None = None) -> int:
        """POST an update to /webhook/telegram as Telegram would; returns the status."""
        assert self.tg is not None and self.client is not None
        headers, body = self.tg.webhook_request(update)
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        response = await self.client.post("/webhook/telegram", content=body, headers=headers)
        return response.status_code

    async def tg_deliver(self, update: dict[str, Any]) -> None:
        """Hand an update over the way this world runs (polling or webhook), then settle."""
        assert self.tg is not None
        if self.polling:
            self.tg.push_update(update)
            await self.tg_polled_past(update["update_id"])
        else:
            assert await self.tg_post(update) == 200
        await self.settle()

    async def tg_polled_past(self, update_id: int) -> None:
        assert self.tg is not None
        tg = self.tg
        await eventually(
            lambda: any(
                int(call.get("offset") or 0) > update_id for call in tg.calls("getUpdates")
            ),
            f"update {update_id} polled",
        )

    async def tg_say(self, user: int, text: str, language_code: str | None = "en") -> None:
        assert self.tg is not None
        await self.tg_deliver(self.tg.text_update(user, text, language_code=language_code))

    def tg_button(self, chat: int, label: str) -> tuple[int, str]:
        """(message id, callback data) of the newest button with this label in the chat."""
        assert self.tg is not None
        for message in reversed(self.tg.sent_messages(chat)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return message["message_id"], button["callback_data"]
        raise AssertionError(f"no button {label!r} in chat {chat}")

    async def tg_press(self, user: int, label: str) -> dict[str, Any]:
        """Press a button under a message the bot sent; returns the callback update."""
        assert self.tg is not None
        message_id, data = self.tg_button(user, label)
        update = self.tg.callback_update(user, data, message_id)
        await self.tg_deliver(update)
        return update

    def tg_texts(self, chat: int) -> list[str]:
        assert self.tg is not None
        return [m.get("text", "") for m in self.tg.sent_messages(chat)]

    # -- LINE ---------------------------------------------------------------------------
    def line_ms(self, ago: timedelta = timedelta(0)) -> int:
        """A LINE event timestamp: now on this world's clock (minus `ago`)."""
        return int((self.clock.now() - ago).timestamp() * 1000)

    async def line_post(self, *events: dict[str, Any], secret: str = LINE_SECRET) -> int:
        assert self.client is not None
        body, headers = signed_body(list(events), secret)
        response = await self.client.post("/webhook/line", content=body, headers=headers)
        await self.settle()
        return response.status_code

    async def line_say(self, user: str, text: str) -> dict[str, Any]:
        assert self.line is not None
        event = line_event_text(
            user, text, reply_token=self.line.issue_reply_token(user), timestamp_ms=self.line_ms()
        )
        assert await self.line_post(event) == 200
        return event

    def line_button(self, chat: str, label: str) -> str:
        assert self.line is not None
        for message in reversed(self.line.all_messages(chat)):
            for shown, data in message.buttons:
                if shown == label:
                    return data
        raise AssertionError(f"no quick reply {label!r} for {chat}")

    async def line_press(self, user: str, label: str) -> dict[str, Any]:
        assert self.line is not None
        event = line_event_postback(
            user,
            self.line_button(user, label),
            reply_token=self.line.issue_reply_token(user),
            timestamp_ms=self.line_ms(),
        )
        assert await self.line_post(event) == 200
        return event

    def line_texts(self, chat: str) -> list[str]:
        assert self.line is not None
        return [m.text for m in self.line.all_messages(chat)]

    def line_last(self, chat: str) -> SentMessage:
        assert self.line is not None
        return self.line.all_messages(chat)[-1]


def world_settings(
    database_url: str,
    *,
    telegram: LocalServer | None = None,
    webhook: bool = False,
    line: LocalServer | None = None,
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "database_url": database_url,
        "default_locale": "en",
        "api_timeout": 2.0,
        "_env_file": None,
    }
    if telegram is not None:
        settings.update(
            telegram_token=TG_TOKEN,
            telegram_api_url=f"{telegram.url}/bot",
            telegram_poll_timeout=0.2,
        )
        if webhook:
            settings.update(telegram_webhook_url=TG_HOOK, telegram_webhook_secret=TG_SECRET)
    if line is not None:
        settings.update(
            line_channel_secret=LINE_SECRET,
            line_channel_access_token=LINE_TOKEN,
            line_api_url=line.url,
        )
    return settings
