"""The Telegram adapter, driven through real PTB against the fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import pytest

from bot.channels.base import Delivery, Rejected, RetryLater, Unreachable
from bot.channels.telegram import CommandMenu, TelegramChannel
from bot.engine.events import Inbound, Kind, RawEvent
from bot.engine.replies import Button, Document, Reply
from tests.fakes.server import LocalServer, Swappable, serve_swappable
from tests.fakes.telegram_api import MEDIA_KINDS, FakeTelegram

TOKEN = "123456:TEST-secret-token"
SECRET = "webhook-Secret_42"
STUDENT = 4242


class RecordingSink:
    """Keeps what it receives, dedupes by inbox key, and can fail or stall on demand. What
    it takes is read at once by the channel's worker side (`read`), into `events`."""

    def __init__(self) -> None:
        self.events: list[Inbound] = []
        self.attempts = 0
        self.fail_times = 0
        self.stall: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.reader: TelegramChannel | None = None
        self._seen: set[tuple[str, str]] = set()

    async def accept(self, entries: Sequence[RawEvent]) -> list[bool]:
        self.attempts += 1
        self.started.set()
        if self.stall is not None:
            await self.stall.wait()
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("inbox unavailable")
        fresh = []
        for entry in entries:
            key = (entry.channel, entry.event_id)
            fresh.append(key not in self._seen)
            if key in self._seen:
                continue
            self._seen.add(key)
            assert self.reader is not None
            event = await self.reader.read(entry.body)
            if event is not None:
                self.events.append(event)
        return fresh

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Inbound]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.events) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"got {len(self.events)} events, wanted {count}")
            await asyncio.sleep(0.01)
        return self.events


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[tuple[LocalServer, Swappable]]:
    yield from serve_swappable()


@pytest.fixture
def server(fake: FakeTelegram, shared_server: tuple[LocalServer, Swappable]) -> LocalServer:
    running, current = shared_server
    current.app = fake.app
    return running


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def make_channel(server: LocalServer, sink: RecordingSink, **options: object) -> TelegramChannel:
    channel = TelegramChannel(
        token=TOKEN,
        sink=sink,
        api_url=f"{server.url}/bot",
        poll_timeout=0.2,
        request_timeout=1.0,
        **options,  # type: ignore[arg-type]
    )
    sink.reader = channel
    return channel


@pytest.fixture
async def polling(server: LocalServer, sink: RecordingSink) -> AsyncIterator[TelegramChannel]:
    channel = make_channel(server, sink)
    await channel.start()
    yield channel
    await channel.stop()


@pytest.fixture
async def webhook(server: LocalServer, sink: RecordingSink) -> AsyncIterator[TelegramChannel]:
    channel = make_channel(
        server, sink, webhook_url="https://bot.example/webhook/telegram", webhook_secret=SECRET
    )
    await channel.start()
    yield channel
    await channel.stop()


def delivery(*messages: Reply, chat_id: int = STUDENT, key: str = "k1") -> Delivery:
    return Delivery(chat_id=str(chat_id), messages=messages, idempotency_key=key)


# -- polling: translation ---------------------------------------------------------------------


async def test_polling_receives_text_byte_exact(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    text = "今日の面談で 👩🏽‍💻 ビザの話が大事だった — مرحبا\nsecond line  "
    update = fake.push_update(fake.text_update(STUDENT, text, language_code="ja"))

    [event] = await sink.wait_for(1)

    assert event.kind is Kind.TEXT
    assert event.text == text
    assert event.text.encode() == text.encode()
    assert event.channel == "telegram"
    assert event.event_id == str(update["update_id"])
    assert event.user_id == event.chat_id == str(STUDENT)
    assert event.message_id == str(update["message"]["message_id"])
    assert event.locale_hint == "ja"


async def test_polling_receives_command_with_deep_link_args(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    fake.push_update(fake.text_update(STUDENT, "/start INV-7f3a", language_code=None))
    fake.push_update(fake.text_update(STUDENT, "/Help@furikaeri_bot"))

    start, help_ = await sink.wait_for(2)

    assert (start.kind, start.command, start.args, start.locale_hint) == (
        Kind.COMMAND,
        "start",
        "INV-7f3a",
        "",
    )
    assert (help_.kind, help_.command, help_.args) == (Kind.COMMAND, "help", "")


async def test_polling_callback_is_answered_and_keyboard_shows_the_choice(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    buttons = [("Visa", "q1:a1"), ("Résumé ✍️", "q1:a2")]
    update = fake.push_update(fake.callback_update(STUDENT, "q1:a2", buttons=buttons))
    message_id = update["callback_query"]["message"]["message_id"]

    [event] = await sink.wait_for(1)
    await eventually(
        lambda: fake.sent_messages(STUDENT)[0]["reply_markup"] != update_markup(update)
    )

    assert (event.kind, event.data, event.chat_id) == (Kind.CHOICE, "q1:a2", str(STUDENT))
    assert event.message_id == str(message_id)
    assert [c["callback_query_id"] for c in fake.calls("answerCallbackQuery")] == [
        update["callback_query"]["id"]
    ]
    [shown] = fake.sent_messages(STUDENT)
    assert shown["reply_markup"] == {
        "inline_keyboard": [[{"text": "✓ Résumé ✍️", "callback_data": "-"}]]
    }

    spent = fake.push_update(fake.callback_update(STUDENT, "-", message_id))
    await eventually(lambda: len(fake.calls("answerCallbackQuery")) == 2)
    await eventually(lambda: spent["update_id"] not in fake.pending_update_ids())
    await asyncio.sleep(0.05)
    assert len(sink.events) == 1


def update_markup(update: dict[str, Any]) -> Any:
    return update["callback_query"]["message"]["reply_markup"]


async def test_callback_twice_keeps_the_event_when_the_keyboard_is_not_modified(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    first = fake.push_update(fake.callback_update(STUDENT, "yes", buttons=[("Yes", "yes")]))
    await sink.wait_for(1)
    message_id = first["callback_query"]["message"]["message_id"]
    await eventually(lambda: len(fake.calls("editMessageReplyMarkup")) == 1)
    # A second press that raced the edit: the edit is "not modified", the event still arrives.
    second = fake.callback_update(STUDENT, "yes", message_id)
    second["callback_query"]["message"]["reply_markup"] = update_markup(first)
    fake.push_update(second)

    events = await sink.wait_for(2)

    assert [e.data for e in events] == ["yes", "yes"]
    await eventually(lambda: len(fake.calls("editMessageReplyMarkup")) == 2)


async def test_polling_receives_edit(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    fake.push_update(fake.edited_update(STUDENT, 17, "corrected answer ✅"))

    [event] = await sink.wait_for(1)

    assert (event.kind, event.text, event.message_id) == (Kind.EDIT, "corrected answer ✅", "17")


async def test_polling_receives_every_media_kind(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    for kind in MEDIA_KINDS:
        fake.push_update(fake.media_update(STUDENT, kind))

    events = await sink.wait_for(len(MEDIA_KINDS))

    assert [(e.kind, e.media_type) for e in events] == [(Kind.MEDIA, k) for k in MEDIA_KINDS]
    assert all(e.text == "" for e in events)


async def test_group_chats_become_group_events_without_text(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    fake.push_update(fake.text_update(STUDENT, "secret group talk", chat_type="group"))
    fake.push_update(fake.text_update(STUDENT, "/start X", chat_type="supergroup"))
    fake.push_update(fake.edited_update(STUDENT, 5, "edited in group", chat_type="group"))
    fake.push_update(fake.media_update(STUDENT, "photo", chat_type="supergroup"))
    fake.push_update(fake.channel_post_update(-100777, "channel news"))

    events = await sink.wait_for(5)

    assert {e.kind for e in events} == {Kind.GROUP}
    assert all(e.text == e.command == e.args == "" for e in events)
    assert all(e.chat_id.startswith("-") for e in events)
    assert events[-1].chat_id == "-100777"


async def test_blocking_and_unblocking(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    fake.push_update(fake.member_update(STUDENT, "member", "kicked"))
    fake.push_update(fake.member_update(STUDENT, "kicked", "member"))
    fake.push_update(fake.member_update(STUDENT, "member", "member"))

    events = await sink.wait_for(2)
    await eventually(lambda: not fake.pending_update_ids())

    assert [(e.kind, e.chat_id) for e in events] == [
        (Kind.UNFOLLOW, str(STUDENT)),
        (Kind.FOLLOW, str(STUDENT)),
    ]


# -- polling: acknowledgement -----------------------------------------------------------------


async def test_offset_moves_only_after_the_sink_stored_the_update(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    sink.fail_times = 1
    update = fake.push_update(fake.text_update(STUDENT, "keep me"))
    update_id = update["update_id"]

    [event] = await sink.wait_for(1)
    await eventually(lambda: not fake.pending_update_ids())

    assert event.text == "keep me"
    assert sink.attempts == 2
    offsets = [c.get("offset") for c in fake.calls("getUpdates")]
    fetched_again = offsets.index(update_id + 1)
    assert all(o is None or o <= update_id for o in offsets[:fetched_again])


async def test_an_update_ptb_cannot_read_does_not_stop_polling(
    fake: FakeTelegram, sink: RecordingSink, polling: TelegramChannel
) -> None:
    unreadable = fake.media_update(STUDENT, "poll")
    del unreadable["message"]["poll"]["options"][0]["persistent_id"]  # required by PTB 22.8
    fake.push_update(unreadable)
    fake.push_update(fake.text_update(STUDENT, "still here"))

    [event] = await sink.wait_for(1)
    await eventually(lambda: not fake.pending_update_ids())

    assert event.text == "still here"


async def test_stop_finishes_the_update_in_flight_and_confirms_it(
    fake: FakeTelegram, sink: RecordingSink, server: LocalServer
) -> None:
    channel = make_channel(server, sink)
    await channel.start()
    sink.stall = asyncio.Event()
    fake.push_update(fake.text_update(STUDENT, "in flight"))
    await asyncio.wait_for(sink.started.wait(), 5)

    stopping = asyncio.create_task(channel.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()
    sink.stall.set()
    await asyncio.wait_for(stopping, 5)

    assert [e.text for e in sink.events] == ["in flight"]
    assert fake.pending_update_ids() == []


async def test_polling_backs_off_on_server_errors(
    fake: FakeTelegram, sink: RecordingSink, server: LocalServer
) -> None:
    fake.fail_next("getUpdates", status=500)
    fake.fail_next("getUpdates", status=429, retry_after=1)
    channel = make_channel(server, sink)
    await channel.start()
    try:
        fake.push_update(fake.text_update(STUDENT, "after the storm"))
        [event] = await sink.wait_for(1)
    finally:
        await channel.stop()

    assert event.text == "after the storm"
    assert fake.calls("deleteWebhook")


# -- webhook ----------------------------------------------------------------------------------


async def test_webhook_is_registered_with_the_secret(
    fake: FakeTelegram, webhook: TelegramChannel
) -> None:
    [call] = fake.calls("setWebhook")
    assert call["url"] == "https://bot.example/webhook/telegram"
    assert call["secret_token"] == SECRET
    assert "callback_query" in call["allowed_updates"]
    assert "my_chat_member" in call["allowed_updates"]
    assert fake.calls("getUpdates") == []


async def test_webhook_with_the_right_secret_is_stored(
    fake: FakeTelegram, sink: RecordingSink, webhook: TelegramChannel
) -> None:
    headers, body = fake.webhook_request(fake.text_update(STUDENT, "ふりかえり 🌸"))

    assert await webhook.handle_webhook(headers, body) == (200, "ok")
    lowercase = {k.lower(): v for k, v in headers.items()}
    assert await webhook.handle_webhook(lowercase, body) == (200, "ok")  # redelivery

    assert [(e.kind, e.text) for e in sink.events] == [(Kind.TEXT, "ふりかえり 🌸")]
    assert sink.attempts == 2


async def test_webhook_callback_is_answered_and_marked_when_read(
    fake: FakeTelegram, sink: RecordingSink, webhook: TelegramChannel
) -> None:
    update = fake.callback_update(STUDENT, "d1", buttons=[("One", "d1"), ("Two", "d2")])

    assert await webhook.handle_webhook(*fake.webhook_request(update)) == (200, "ok")

    assert [e.data for e in sink.events] == ["d1"]
    assert len(fake.calls("answerCallbackQuery")) == 1
    [shown] = fake.sent_messages(STUDENT)
    assert shown["reply_markup"]["inline_keyboard"] == [[{"text": "✓ One", "callback_data": "-"}]]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}],
)
async def test_webhook_with_a_wrong_or_missing_secret_is_forbidden(
    fake: FakeTelegram, sink: RecordingSink, webhook: TelegramChannel, headers: dict[str, str]
) -> None:
    _, body = fake.webhook_request(fake.text_update(STUDENT, "intruder"))

    assert await webhook.handle_webhook(headers, body) == (403, "forbidden")
    assert sink.attempts == 0


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
async def test_webhook_with_a_bad_body_is_a_bad_request(
    sink: RecordingSink, webhook: TelegramChannel, body: bytes
) -> None:
    status, _ = await webhook.handle_webhook({"X-Telegram-Bot-Api-Secret-Token": SECRET}, body)

    assert status == 400
    assert sink.attempts == 0


async def test_webhook_update_of_an_unknown_kind_is_acknowledged_and_dropped(
    sink: RecordingSink, webhook: TelegramChannel
) -> None:
    answer = {"poll_id": "p", "option_ids": [0], "option_persistent_ids": ["o1"]}
    body = json.dumps({"update_id": 9, "poll_answer": answer}).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    assert await webhook.handle_webhook(headers, body) == (200, "ok")
    assert sink.attempts == 0


async def test_webhook_update_that_ptb_cannot_read_is_acknowledged_and_dropped(
    sink: RecordingSink, webhook: TelegramChannel
) -> None:
    poll = {"id": "p", "question": "?", "options": [{"text": "A", "voter_count": 0}]}
    body = json.dumps({"update_id": 10, "message": {"poll": poll}}).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    assert await webhook.handle_webhook(headers, body) == (200, "ok")
    assert await webhook.handle_webhook(headers, b'{"no_update_id": 1}') == (
        400,
        "body is not an update",
    )
    assert sink.attempts == 0


async def test_webhook_reports_a_sink_failure_so_telegram_retries(
    fake: FakeTelegram, sink: RecordingSink, webhook: TelegramChannel
) -> None:
    sink.fail_times = 1
    request = fake.webhook_request(fake.text_update(STUDENT, "retry me"))

    status, _ = await webhook.handle_webhook(*request)
    assert status >= 500
    assert await webhook.handle_webhook(*request) == (200, "ok")
    assert [e.text for e in sink.events] == ["retry me"]


# -- send -------------------------------------------------------------------------------------


async def test_send_text_and_emoji_byte_exact(fake: FakeTelegram, polling: TelegramChannel) -> None:
    text = "今日はありがとう 🙏🏻 — Merci ! 👨‍👩‍👧"

    await polling.send(delivery(Reply(text=text), Reply(text="second")))

    sent = fake.sent_messages(STUDENT)
    assert [m["text"] for m in sent] == [text, "second"]
    assert sent[0]["text"].encode() == text.encode()
    assert "reply_markup" not in sent[0]


async def test_send_splits_long_text_on_line_boundaries(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    line = "x" * 99
    text = "\n".join(f"{i:03d}{line}"[:99] for i in range(100))  # 100 lines, 9,999 chars
    text += "y"
    assert len(text) == 10_000
    buttons = (Button("OK", "ok"),)

    await polling.send(delivery(Reply(text=text, buttons=buttons)))

    sent = fake.sent_messages(STUDENT)
    assert len(sent) == 3
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert "\n".join(m["text"] for m in sent) == text
    assert ["reply_markup" in m for m in sent] == [False, False, True]


async def test_send_buttons_as_an_inline_keyboard_in_columns(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    buttons = tuple(Button(str(n), f"scale:{n}") for n in range(1, 6))

    await polling.send(delivery(Reply(text="How much? 1–5", buttons=buttons, columns=3)))

    [sent] = fake.sent_messages(STUDENT)
    rows = sent["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["1", "2", "3"], ["4", "5"]]
    assert rows[1][1]["callback_data"] == "scale:5"


async def test_send_a_document_with_a_caption_or_a_separate_text(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    content = b'{"answers": ["\xe3\x81\x82"]}\r\n\x00\xff'
    short = Reply(text="Your export", document=Document("export.json", content))
    long = Reply(text="L" * 1500, document=Document("notes.txt", b"abc", "text/plain"))

    await polling.send(delivery(short, long))

    uploads = fake.sent_documents(STUDENT)
    assert [(u["filename"], u["content"], u["caption"]) for u in uploads] == [
        ("export.json", content, "Your export"),
        ("notes.txt", b"abc", ""),
    ]
    assert [u["mime_type"] for u in uploads] == ["application/json", "text/plain"]
    kinds = ["document" if "document" in m else m["text"][:1] for m in fake.sent_messages(STUDENT)]
    assert kinds == ["document", "L", "document"]


async def test_send_maps_flood_control_to_retry_later_with_the_wait(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)

    with pytest.raises(RetryLater) as caught:
        await polling.send(delivery(Reply(text="hi")))

    assert caught.value.after == 7


async def test_send_maps_a_blocked_user_to_unreachable(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    fake.fail_next("sendMessage", status=403, chat_id=STUDENT)

    with pytest.raises(Unreachable):
        await polling.send(delivery(Reply(text="hi")))

    fake.block(STUDENT)
    with pytest.raises(Unreachable):
        await polling.send(delivery(Reply(text="hi", document=Document("a.json", b"{}"))))


@pytest.mark.parametrize("status", [500, 502])
async def test_send_maps_server_errors_to_retry_later(
    fake: FakeTelegram, polling: TelegramChannel, status: int
) -> None:
    fake.fail_next("sendMessage", status=status)

    with pytest.raises(RetryLater) as caught:
        await polling.send(delivery(Reply(text="hi")))

    assert caught.value.after is None


async def test_send_maps_a_timeout_to_retry_later(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    fake.delay_next("sendMessage", 1.5)

    with pytest.raises(RetryLater) as caught:
        await polling.send(delivery(Reply(text="slow")))

    assert caught.value.after is None


async def test_send_maps_bad_requests_to_rejected(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    fake.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
    with pytest.raises(Rejected):
        await polling.send(delivery(Reply(text="hi")))

    with pytest.raises(Rejected):  # the fake enforces Telegram's 64-byte callback data
        await polling.send(delivery(Reply(text="hi", buttons=(Button("B", "d" * 65),))))

    with pytest.raises(Rejected):  # a LINE-style id can never be a Telegram chat
        await polling.send(
            Delivery(chat_id="U12ab", messages=(Reply(text="hi"),), idempotency_key="k")
        )


async def test_a_retried_delivery_does_not_repeat_the_parts_already_sent(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    export = Document("export.json", b"{}")
    parts = delivery(Reply(text="one"), Reply(text="two", document=export), key="multi")
    fake.fail_next("sendDocument", status=429, retry_after=1)

    with pytest.raises(RetryLater):
        await polling.send(parts)
    await polling.send(parts)

    sent = fake.sent_messages(STUDENT)
    assert [m.get("text") or m.get("caption") for m in sent] == ["one", "two"]
    assert len(fake.calls("sendMessage")) == 1


# -- commands and logs ------------------------------------------------------------------------


async def test_register_commands_per_language_and_per_chat(
    fake: FakeTelegram, polling: TelegramChannel
) -> None:
    await polling.register_commands(
        [
            CommandMenu([("start", "Start"), ("help", "Help")]),
            CommandMenu([("start", "はじめる"), ("help", "ヘルプ")], language_code="ja"),
            CommandMenu([("digest", "Digest"), ("session", "Log a session")], chat_id="777"),
        ]
    )

    assert fake.commands() == [("start", "Start"), ("help", "Help")]
    assert fake.commands(language_code="ja") == [("start", "はじめる"), ("help", "ヘルプ")]
    assert fake.commands(chat_id=777) == [("digest", "Digest"), ("session", "Log a session")]
    assert fake.commands(language_code="fr") is None


async def test_logs_hold_neither_token_nor_message_text(
    fake: FakeTelegram, sink: RecordingSink, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # bot.logs.setup may have raised it
    channel = make_channel(server, sink)
    await channel.start()
    try:
        fake.push_update(fake.text_update(STUDENT, "private words"))
        await sink.wait_for(1)
        fake.fail_next("sendMessage", status=400)
        with pytest.raises(Rejected):
            await channel.send(delivery(Reply(text="private reply")))
    finally:
        await channel.stop()

    assert "HTTP Request" in caplog.text  # httpx did log the calls, redacted
    assert TOKEN not in caplog.text
    assert "private words" not in caplog.text
    assert "private reply" not in caplog.text
