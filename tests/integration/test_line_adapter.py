"""The LINE adapter through the real line-bot-sdk, against a fake Messaging API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime

import pytest

from bot.channels.base import Delivery, Rejected, RetryLater, Unreachable
from bot.channels.line import LineChannel
from bot.channels.line_render import retry_key
from bot.engine.events import Inbound, Kind, RawEvent
from bot.engine.replies import Button, Document, Reply
from tests.fakes.line_api import (
    LineApiFake,
    line_event_follow,
    line_event_group_text,
    line_event_join,
    line_event_media,
    line_event_postback,
    line_event_text,
    line_event_unfollow,
    line_event_unsend,
    sign,
    signed_body,
)
from tests.fakes.server import LocalServer, Swappable, free_port, serve_swappable

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
USER = "U4af4980629c0ffee0000000000000001"
GROUP = "Ca56f94637c0ffee0000000000000002"
ROOM = "Rb1e2d3c4c0ffee0000000000000003"


class RecordingSink:
    """Keeps what the adapter hands over; a (channel, event_id) seen before is a duplicate.
    What it takes is read at once by the channel's worker side (`read`), into `events`."""

    def __init__(self) -> None:
        self.entries: list[RawEvent] = []
        self.events: list[Inbound] = []
        self.reader: LineChannel | None = None
        self._seen: set[tuple[str, str]] = set()

    async def accept(self, entries: Sequence[RawEvent]) -> list[bool]:
        fresh = []
        for entry in entries:
            key = (entry.channel, entry.event_id)
            fresh.append(key not in self._seen)
            if key in self._seen:
                continue
            self._seen.add(key)
            self.entries.append(entry)
            assert self.reader is not None
            event = await self.reader.read(entry.body)
            if event is not None:
                self.events.append(event)
        return fresh


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[LocalServer, Swappable]]:
    yield from serve_swappable()


@pytest.fixture
def fake(shared: tuple[LocalServer, Swappable]) -> LineApiFake:
    fake = LineApiFake(access_token=TOKEN)
    shared[1].app = fake.app
    return fake


@pytest.fixture
def server(shared: tuple[LocalServer, Swappable], fake: LineApiFake) -> LocalServer:
    return shared[0]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def channel(server: LocalServer, sink: RecordingSink) -> AsyncIterator[LineChannel]:
    line = LineChannel(
        channel_secret=SECRET, access_token=TOKEN, sink=sink, api_url=server.url, request_timeout=2
    )
    sink.reader = line
    await line.start()
    yield line
    await line.stop()


async def post(channel: LineChannel, *events: dict[str, object]) -> tuple[int, str]:
    body, headers = signed_body(list(events), SECRET)
    return await channel.handle_webhook(headers, body)


def delivery(*replies: Reply, chat_id: str = USER, key: str = "", token: str = "") -> Delivery:
    return Delivery(
        chat_id=chat_id,
        messages=replies,
        idempotency_key=key or uuid.uuid4().hex,
        reply_token=token,
    )


# -- inbound ----------------------------------------------------------------------------


async def test_signed_text_becomes_text_with_reply_token_and_locale(
    channel: LineChannel, fake: LineApiFake, sink: RecordingSink
) -> None:
    fake.set_profile(USER, "Mai", language="vi")
    text = "  Tôi thích phần phỏng vấn 👋\nsecond line  "
    event = line_event_text(USER, text, event_id="01EVENT", reply_token="rt-1", message_id="m-1")
    event["timestamp"] = 1_700_000_000_123

    assert await post(channel, event) == (200, "ok")

    [got] = sink.events
    assert got.kind is Kind.TEXT
    assert (got.channel, got.event_id, got.user_id, got.chat_id) == ("line", "01EVENT", USER, USER)
    assert got.text == text
    assert got.message_id == "m-1"
    assert got.reply_token == "rt-1"
    assert got.locale_hint == "vi"
    assert got.received_at == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)


async def test_profile_is_fetched_once_per_user(
    channel: LineChannel, fake: LineApiFake, sink: RecordingSink
) -> None:
    fake.set_profile(USER, "Mai", language="ja")
    await post(channel, line_event_text(USER, "one"), line_event_text(USER, "two"))
    await post(channel, line_event_postback(USER, "q:1"))

    assert [e.locale_hint for e in sink.events] == ["ja", "ja", "ja"]
    assert len(fake.requests("profile")) == 1


async def test_failed_profile_call_keeps_the_event(
    channel: LineChannel, fake: LineApiFake, sink: RecordingSink
) -> None:
    fake.set_profile(USER, "Mai", language="ja")
    fake.fail_next("profile", 500)

    assert await post(channel, line_event_text(USER, "hello")) == (200, "ok")

    assert [(e.text, e.locale_hint) for e in sink.events] == [("hello", "")]


async def test_command(channel: LineChannel, sink: RecordingSink) -> None:
    await post(channel, line_event_text(USER, "/start AB12CD"), line_event_text(USER, "/digest"))

    start, digest = sink.events
    assert (start.kind, start.command, start.args, start.text) == (
        Kind.COMMAND,
        "start",
        "AB12CD",
        "/start AB12CD",
    )
    assert (digest.kind, digest.command, digest.args) == (Kind.COMMAND, "digest", "")


async def test_postback_becomes_choice(channel: LineChannel, sink: RecordingSink) -> None:
    await post(channel, line_event_postback(USER, "a:42:3", reply_token="rt-2"))

    [got] = sink.events
    assert (got.kind, got.data, got.reply_token, got.chat_id) == (
        Kind.CHOICE,
        "a:42:3",
        "rt-2",
        USER,
    )


@pytest.mark.parametrize("unblocked", [False, True])
async def test_follow(
    channel: LineChannel, fake: LineApiFake, sink: RecordingSink, unblocked: bool
) -> None:
    fake.set_profile(USER, "Mai", language="zh-Hant")

    await post(channel, line_event_follow(USER, unblocked=unblocked, reply_token="rt-f"))

    [got] = sink.events
    assert (got.kind, got.user_id, got.reply_token, got.locale_hint) == (
        Kind.FOLLOW,
        USER,
        "rt-f",
        "zh-Hant",
    )


async def test_unfollow(channel: LineChannel, sink: RecordingSink) -> None:
    await post(channel, line_event_unfollow(USER, event_id="01UNF"))

    [got] = sink.events
    assert (got.kind, got.event_id, got.user_id, got.reply_token) == (
        Kind.UNFOLLOW,
        "01UNF",
        USER,
        "",
    )


@pytest.mark.parametrize("media_type", ["image", "video", "audio", "file", "location", "sticker"])
async def test_media(channel: LineChannel, sink: RecordingSink, media_type: str) -> None:
    await post(channel, line_event_media(USER, media_type))

    [got] = sink.events
    assert (got.kind, got.media_type, got.text) == (Kind.MEDIA, media_type, "")
    assert got.message_id


async def test_unsend(channel: LineChannel, sink: RecordingSink) -> None:
    await post(channel, line_event_unsend(USER, "325708"))

    [got] = sink.events
    assert (got.kind, got.message_id) == (Kind.UNSEND, "325708")


async def test_group_and_room_become_group_without_text(
    channel: LineChannel, sink: RecordingSink
) -> None:
    await post(
        channel,
        line_event_join(GROUP, reply_token="rt-g"),
        line_event_join(ROOM, room=True),
        line_event_group_text(GROUP, USER, "my secret answer"),
        line_event_postback(USER, "x:1") | {"source": {"type": "room", "roomId": ROOM}},
    )

    assert [(e.kind, e.chat_id, e.text, e.data) for e in sink.events] == [
        (Kind.GROUP, GROUP, "", ""),
        (Kind.GROUP, ROOM, "", ""),
        (Kind.GROUP, GROUP, "", ""),
        (Kind.GROUP, ROOM, "", ""),
    ]
    assert sink.events[0].reply_token == "rt-g"
    assert sink.events[2].user_id == USER


async def test_edited_text_becomes_edit(channel: LineChannel, sink: RecordingSink) -> None:
    edited = line_event_text(USER, "corrected answer", message_id="m-9") | {"type": "messageEdited"}

    await post(channel, edited)

    [got] = sink.events
    assert (got.kind, got.text, got.message_id) == (Kind.EDIT, "corrected answer", "m-9")


async def test_redelivery_is_deduplicated_by_the_sink(
    channel: LineChannel, sink: RecordingSink
) -> None:
    first = line_event_text(USER, "answer", event_id="01SAME")
    again = line_event_text(USER, "answer", event_id="01SAME", redelivery=True)

    assert await post(channel, first) == (200, "ok")
    assert await post(channel, again) == (200, "ok")

    assert [e.event_id for e in sink.events] == ["01SAME"]


async def test_signature_header_is_case_insensitive(
    channel: LineChannel, sink: RecordingSink
) -> None:
    body, headers = signed_body([line_event_text(USER, "hi")], SECRET)
    lowered = {name.lower(): value for name, value in headers.items()}

    assert (await channel.handle_webhook(lowered, body))[0] == 200
    assert len(sink.events) == 1


@pytest.mark.parametrize(
    "body",
    [b'{"events":[]}', "{'events': ['ありがとう、考えてみます']}".encode(), b"\xff\xfe not text"],
    ids=["ascii", "japanese", "not-utf8"],
)
def test_the_signature_check_agrees_with_the_sdks_validator(
    channel: LineChannel, body: bytes
) -> None:
    from linebot.v3 import SignatureValidator

    validator = SignatureValidator(SECRET)
    for signature in (sign(body, SECRET), sign(body, "another-secret"), "", "bm90IGEgc2ln"):
        try:
            sdk = validator.validate(body.decode("utf-8"), signature)
        except UnicodeDecodeError:
            sdk = signature == sign(body, SECRET)  # the SDK takes text; LINE signs the bytes
        assert channel.authentic({"X-Line-Signature": signature}, body) == bool(sdk)


def test_taking_a_webhook_imports_no_line_sdk() -> None:
    """The SDK costs most of a start; it is imported when the channel starts sending."""
    code = (
        "import sys, bot.channels.line\n"
        "print(sorted(m for m in sys.modules if m.startswith('linebot')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-secret"],
    ids=["missing", "empty", "garbage", "other-secret"],
)
async def test_bad_signature_is_refused(
    channel: LineChannel, sink: RecordingSink, signature: str | None
) -> None:
    body, headers = signed_body([line_event_text(USER, "hi")], SECRET)
    del headers["X-Line-Signature"]
    if signature == "wrong-secret":
        headers["X-Line-Signature"] = sign(body, "another-secret")
    elif signature is not None:
        headers["X-Line-Signature"] = signature

    status, _ = await channel.handle_webhook(headers, body)

    assert status == 400
    assert sink.events == []


async def test_tampered_body_is_refused(channel: LineChannel, sink: RecordingSink) -> None:
    body, headers = signed_body([line_event_text(USER, "hi")], SECRET)

    status, _ = await channel.handle_webhook(headers, body.replace(b"hi", b"ho"))

    assert status == 400
    assert sink.events == []


async def test_verify_call_with_no_events(channel: LineChannel, sink: RecordingSink) -> None:
    assert await post(channel) == (200, "ok")
    assert sink.events == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"events": {}}'])
async def test_malformed_body_is_refused(
    channel: LineChannel, sink: RecordingSink, body: bytes
) -> None:
    headers = {"X-Line-Signature": sign(body, SECRET)}

    status, _ = await channel.handle_webhook(headers, body)

    assert status == 400
    assert sink.events == []


async def test_unknown_events_are_acknowledged_and_skipped(
    channel: LineChannel, sink: RecordingSink
) -> None:
    beacon = line_event_unfollow(USER) | {"type": "beacon", "beacon": {"hwid": "d41d8cd98f"}}
    text = line_event_text(USER, "still here")

    assert await post(channel, beacon, text) == (200, "ok")

    assert [e.text for e in sink.events] == ["still here"]


async def test_sink_failure_is_not_acknowledged(channel: LineChannel, sink: RecordingSink) -> None:
    async def broken(entries: Sequence[RawEvent]) -> list[bool]:
        raise RuntimeError("database is down")

    sink.accept = broken  # type: ignore[method-assign]

    status, _ = await post(channel, line_event_text(USER, "hi"))

    assert status == 500


# -- outbound ---------------------------------------------------------------------------


async def test_fresh_reply_token_sends_a_free_reply(
    channel: LineChannel, fake: LineApiFake
) -> None:
    token = fake.issue_reply_token(USER)

    await channel.send(delivery(Reply(text="Which topic mattered most?"), token=token))

    assert [m.text for m in fake.replied(USER)] == ["Which topic mattered most?"]
    assert fake.requests("push") == []


async def test_webhook_reply_token_answers_the_event(
    channel: LineChannel, fake: LineApiFake, sink: RecordingSink
) -> None:
    await post(
        channel, line_event_text(USER, "/start AB12CD", reply_token=fake.issue_reply_token(USER))
    )
    [event] = sink.events

    out = Delivery(
        chat_id=event.chat_id,
        messages=(Reply(text="Welcome!", buttons=(Button("English", "lang:en"),)),),
        idempotency_key=f"line:{event.event_id}:0",
        reply_token=event.reply_token,
    )
    await channel.send(out)

    [welcome] = fake.all_messages(USER)
    assert (welcome.via, welcome.text, welcome.buttons) == (
        "reply",
        "Welcome!",
        [("English", "lang:en")],
    )


async def test_expired_reply_token_falls_back_to_push(
    channel: LineChannel, fake: LineApiFake
) -> None:
    token = fake.issue_reply_token(USER, ttl=0)

    await channel.send(delivery(Reply(text="hello"), key="out-1", token=token))

    assert [m.text for m in fake.pushed(USER)] == ["hello"]
    assert fake.replied(USER) == []
    [push] = fake.requests("push")
    assert push.retry_key == retry_key("out-1", 0)


async def test_used_reply_token_falls_back_to_push(channel: LineChannel, fake: LineApiFake) -> None:
    token = fake.issue_reply_token(USER)
    await channel.send(delivery(Reply(text="first"), token=token))

    await channel.send(delivery(Reply(text="second"), token=token))

    assert [(m.via, m.text) for m in fake.all_messages(USER)] == [
        ("reply", "first"),
        ("push", "second"),
    ]


async def test_push_carries_a_stable_retry_key_and_409_counts_as_sent(
    channel: LineChannel, fake: LineApiFake
) -> None:
    out = delivery(Reply(text="Two days ago you talked about visas."), key="outbox-17")

    await channel.send(out)
    await channel.send(out)  # the dispatcher retries after a crash: LINE answers 409

    [first, second] = fake.requests("push")
    assert first.retry_key == second.retry_key == retry_key("outbox-17", 0)
    assert uuid.UUID(first.retry_key).version == 5
    assert (first.status, second.status) == (200, 409)
    assert len(fake.pushed(USER)) == 1


async def test_timeout_then_retry_sends_once(
    server: LocalServer, fake: LineApiFake, sink: RecordingSink
) -> None:
    line = LineChannel(
        channel_secret=SECRET,
        access_token=TOKEN,
        sink=sink,
        api_url=server.url,
        request_timeout=0.3,
    )
    await line.start()
    out = delivery(Reply(text="hello"), key="outbox-18")
    fake.delay_next("push", 0.8)  # LINE accepts it, but after the client gave up
    try:
        with pytest.raises(RetryLater):
            await line.send(out)
        for _ in range(100):  # until the fake has accepted the slow request
            if fake.requests("push"):
                break
            await asyncio.sleep(0.05)
        await line.send(out)
    finally:
        await line.stop()

    assert [m.text for m in fake.pushed(USER)] == ["hello"]
    assert [r.status for r in fake.requests("push")] == [200, 409]


async def test_seven_messages_go_in_two_requests(channel: LineChannel, fake: LineApiFake) -> None:
    replies = [Reply(text=f"message {i}") for i in range(7)]
    token = fake.issue_reply_token(USER)

    await channel.send(delivery(*replies, key="out-7", token=token))

    [reply] = fake.requests("reply")
    [push] = fake.requests("push")
    assert len(reply.body["messages"]) == 5
    assert len(push.body["messages"]) == 2
    assert push.retry_key == retry_key("out-7", 1)
    assert [m.text for m in fake.all_messages(USER)] == [f"message {i}" for i in range(7)]


async def test_seven_messages_without_token_are_two_pushes(
    channel: LineChannel, fake: LineApiFake
) -> None:
    await channel.send(delivery(*[Reply(text=f"m{i}") for i in range(7)], key="out-8"))

    pushes = fake.requests("push")
    assert [len(p.body["messages"]) for p in pushes] == [5, 2]
    assert [p.retry_key for p in pushes] == [retry_key("out-8", 0), retry_key("out-8", 1)]


async def test_retry_after_a_partial_send_does_not_repeat_the_reply(
    channel: LineChannel, fake: LineApiFake
) -> None:
    out = delivery(*[Reply(text=f"m{i}") for i in range(6)], token=fake.issue_reply_token(USER))
    fake.fail_next("push", 503)

    with pytest.raises(RetryLater):
        await channel.send(out)
    await channel.send(out)

    assert [m.text for m in fake.all_messages(USER)] == [f"m{i}" for i in range(6)]
    assert len(fake.requests("reply")) == 1


async def test_long_text_is_split(channel: LineChannel, fake: LineApiFake) -> None:
    text = "\n".join(f"line {i:04d} " + "x" * 40 for i in range(130))  # about 6,000 characters
    assert len(text) > 5000

    await channel.send(delivery(Reply(text=text)))

    sent = [m.text for m in fake.pushed(USER)]
    assert len(sent) == 2
    assert all(len(chunk) <= 5000 for chunk in sent)
    assert "\n".join(sent) == text


async def test_astral_text_is_split_by_utf16_length(
    channel: LineChannel, fake: LineApiFake
) -> None:
    text = "🌱" * 3000  # 3,000 characters, 6,000 UTF-16 code units: LINE's way of counting

    await channel.send(delivery(Reply(text=text)))

    sent = [m.text for m in fake.pushed(USER)]
    assert len(sent) >= 2
    assert "".join(sent) == text


async def test_thirteen_buttons_become_a_quick_reply_on_the_last_message(
    channel: LineChannel, fake: LineApiFake
) -> None:
    buttons = tuple(
        Button(f"Topic number {i} — résumés and interviews", f"t:{i}") for i in range(13)
    )
    replies = (Reply(text="Thanks."), Reply(text="x" * 5001, buttons=buttons))

    await channel.send(delivery(*replies))

    sent = fake.pushed(USER)
    assert [bool(m.quick_reply_items) for m in sent] == [False, False, True]
    items = sent[-1].quick_reply_items
    assert len(items) == 13
    assert items[0]["action"] == {
        "type": "postback",
        "label": buttons[0].label[:19] + "…",  # cut to LINE's 20, visibly
        "data": "t:0",
        "displayText": buttons[0].label,
    }
    assert sent[-1].buttons == [(b.label[:19] + "…", b.data) for b in buttons]


async def test_more_than_thirteen_buttons_are_cut_to_thirteen(
    channel: LineChannel, fake: LineApiFake
) -> None:
    buttons = tuple(Button(str(i), f"n:{i}") for i in range(15))

    await channel.send(delivery(Reply(text="Pick one", buttons=buttons)))

    [sent] = fake.pushed(USER)
    assert [data for _, data in sent.buttons] == [f"n:{i}" for i in range(13)]


async def test_document_is_skipped(channel: LineChannel, fake: LineApiFake) -> None:
    export = Document(filename="export.json", content=b"{}")

    await channel.send(delivery(Reply(text="Your export:", document=export)))

    assert [m.type for m in fake.pushed(USER)] == ["text"]


async def test_rate_limited_is_retry_later_with_the_delay(
    channel: LineChannel, fake: LineApiFake
) -> None:
    fake.fail_next("push", 429, retry_after=7)

    with pytest.raises(RetryLater) as caught:
        await channel.send(delivery(Reply(text="hello")))

    assert caught.value.after == 7
    assert fake.pushed(USER) == []


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_retry_later(
    channel: LineChannel, fake: LineApiFake, status: int
) -> None:
    fake.fail_next("push", status)

    with pytest.raises(RetryLater):
        await channel.send(delivery(Reply(text="hello")))


async def test_invalid_request_is_rejected(channel: LineChannel, fake: LineApiFake) -> None:
    fake.fail_next("push", 400, message="The request body has 1 error(s)")

    with pytest.raises(Rejected):
        await channel.send(delivery(Reply(text="hello")))


async def test_reply_error_other_than_the_token_is_rejected(
    channel: LineChannel, fake: LineApiFake
) -> None:
    fake.fail_next("reply", 400, message="The request body has 1 error(s)")

    with pytest.raises(Rejected):
        await channel.send(delivery(Reply(text="hello"), token=fake.issue_reply_token(USER)))

    assert fake.requests("push") == []


async def test_forbidden_is_rejected_and_not_found_is_unreachable(
    channel: LineChannel, fake: LineApiFake
) -> None:
    fake.fail_next("push", 403)
    with pytest.raises(Rejected):
        await channel.send(delivery(Reply(text="hello")))

    fake.fail_next("push", 404)
    with pytest.raises(Unreachable):
        await channel.send(delivery(Reply(text="hello")))


async def test_postback_data_over_300_is_rejected_before_sending(
    channel: LineChannel, fake: LineApiFake
) -> None:
    with pytest.raises(Rejected):
        await channel.send(delivery(Reply(text="?", buttons=(Button("ok", "d" * 301),))))

    assert fake.requests("push") == []


async def test_bad_access_token_is_retry_later(server: LocalServer, sink: RecordingSink) -> None:
    line = LineChannel(channel_secret=SECRET, access_token="revoked", sink=sink, api_url=server.url)
    await line.start()
    try:
        with pytest.raises(RetryLater):
            await line.send(delivery(Reply(text="hello")))
    finally:
        await line.stop()


async def test_connection_refused_is_retry_later(sink: RecordingSink) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = LineChannel(channel_secret=SECRET, access_token=TOKEN, sink=sink, api_url=url)
    await line.start()
    try:
        with pytest.raises(RetryLater):
            await line.send(delivery(Reply(text="hello")))
    finally:
        await line.stop()


@pytest.mark.parametrize("chat_id", [GROUP, ROOM])
async def test_sending_to_a_group_or_room_leaves_it(
    channel: LineChannel, fake: LineApiFake, chat_id: str
) -> None:
    token = fake.issue_reply_token(chat_id)

    await channel.send(
        delivery(Reply(text="I only work in 1:1 chats."), chat_id=chat_id, token=token)
    )

    assert [m.text for m in fake.replied(chat_id)] == ["I only work in 1:1 chats."]
    assert fake.left() == [chat_id]
    endpoint = "leave_group" if chat_id == GROUP else "leave_room"
    assert len(fake.requests(endpoint)) == 1


async def test_sending_to_a_user_leaves_nothing(channel: LineChannel, fake: LineApiFake) -> None:
    await channel.send(delivery(Reply(text="hello")))

    assert fake.left() == []


# -- the fake itself --------------------------------------------------------------------


async def test_fake_enforces_line_limits(channel: LineChannel, fake: LineApiFake) -> None:
    from linebot.v3.messaging import ApiException, PushMessageRequest, TextMessage

    api = channel.messaging().api
    request = PushMessageRequest(to=USER, messages=[TextMessage(text="x" * 5001)])

    with pytest.raises(ApiException) as caught:
        await api.push_message(request, x_line_retry_key="not-a-uuid")
    assert caught.value.status == 400

    with pytest.raises(ApiException) as caught:
        await api.push_message(request)
    assert caught.value.status == 400
    assert '"property":"messages[0].text"' in caught.value.body.replace(" ", "")
    assert fake.pushed(USER) == []


async def test_blocked_user_gets_nothing_but_push_answers_200(
    channel: LineChannel, fake: LineApiFake
) -> None:
    fake.block(USER)

    await channel.send(delivery(Reply(text="hello")))

    assert [r.status for r in fake.requests("push")] == [200]
    assert fake.pushed(USER) == []
