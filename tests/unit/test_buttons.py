"""Every button family's codec: what it makes it reads back, and the biggest payload it can
make fits Telegram's callback data (64 bytes, with the adapter's mark for a button that stays
usable) and LINE's postback data (300 characters)."""

from __future__ import annotations

import pytest
from telegram.constants import InlineKeyboardButtonLimit

from bot.channels.line_render import MAX_POSTBACK_DATA
from bot.channels.telegram_translate import callback_data
from bot.engine.buttons import ButtonData, pack, unpack
from bot.i18n import SHIPPED_LOCALES
from bot.prompts import load_prompts
from handlers import COMMANDS
from handlers.buttons import (
    AnswerButton,
    ConsentButton,
    DigestButton,
    DigestFile,
    DigestOpen,
    DigestPage,
    ForgetButton,
    LanguageButton,
    SessionButton,
    SessionCancel,
    SessionDone,
    SessionStudent,
    SessionTopic,
    TimezoneButton,
)
from handlers.student import COMMON_ZONES

BIGGEST_ID = 10**12 - 1  # ids from button data are read up to 12 digits
A_LATE_SINCE = 99_999_999_999  # a Unix time in the year 5138: 11 digits
PROMPTS = load_prompts()
TOPICS = [topic.id for topic in PROMPTS.topics]
LONGEST_STEP = max(len(s.steps) for s in PROMPTS.sets.values())


def every_payload() -> list[tuple[object, ButtonData]]:
    """(codec, payload) for every value the bot can put on a button, at its largest."""
    values = ["skip", "yes", "no", *(str(n) for n in range(1, 6)), *TOPICS]
    return [
        *((LanguageButton, LanguageButton(code)) for code in SHIPPED_LOCALES),
        (LanguageButton, LanguageButton(LanguageButton.MENU)),
        *((ConsentButton, ConsentButton(answer)) for answer in ("yes", "no", "withdraw")),
        *((AnswerButton, AnswerButton(BIGGEST_ID, LONGEST_STEP, value)) for value in values),
        *((TimezoneButton, TimezoneButton(zone)) for zone in COMMON_ZONES),
        (ForgetButton, ForgetButton(confirmed=True)),
        (ForgetButton, ForgetButton(confirmed=False)),
        (SessionButton, SessionStudent(BIGGEST_ID)),
        *((SessionButton, SessionTopic(topic)) for topic in TOPICS),
        (SessionButton, SessionDone()),
        (SessionButton, SessionCancel()),
        (DigestButton, DigestOpen(BIGGEST_ID, A_LATE_SINCE)),
        (DigestButton, DigestPage(BIGGEST_ID, A_LATE_SINCE, 999)),
        (DigestButton, DigestFile(A_LATE_SINCE)),
    ]


@pytest.mark.parametrize(("codec", "payload"), every_payload(), ids=lambda v: repr(v)[:40])
def test_a_payload_reads_back_as_itself_and_fits_both_platforms(
    codec: object, payload: ButtonData
) -> None:
    data = payload.encode()
    assert codec.decode(data) == payload  # type: ignore[attr-defined]
    on_telegram = callback_data(data, keep=True).encode("utf-8")
    assert len(on_telegram) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    assert len(data) <= MAX_POSTBACK_DATA


def test_every_declared_family_has_a_codec_checked_here() -> None:
    checked = {payload.PREFIX for _, payload in every_payload()}
    assert {family.prefix for family in COMMANDS.buttons} == checked


def test_a_family_reads_only_its_own_prefix() -> None:
    assert LanguageButton.decode("tz:en") is None
    assert SessionButton.decode("a:1:0:skip") is None
    assert AnswerButton.decode("ses:s:1") is None
    assert DigestButton.decode("ses:s:1:2") is None


def test_digest_data_takes_only_small_whole_numbers() -> None:
    for data in (
        "dig:s:1",
        "dig:s:1:x",
        "dig:s:-1:2",
        "dig:p:1:2",
        "dig:p:1:2:3:4",
        "dig:f:",
        "dig:f:1:2",
        "dig:x:1",
        "dig:f:" + "9" * 13,
        "dig:f:١٢",
    ):
        assert DigestButton.decode(data) is None, data
    assert DigestButton.decode("dig:p:12:1700000000:3") == DigestPage(12, 1700000000, 3)


def test_data_that_would_break_the_format_is_never_made() -> None:
    with pytest.raises(ValueError):
        pack("tz", "Asia:Tokyo")
    with pytest.raises(ValueError):
        pack("lang", "日本語")
    with pytest.raises(ValueError):
        AnswerButton(1, 0, "x" * 64).encode()


def test_unpack_refuses_what_no_codec_made() -> None:
    for data in ("", "lang:", "lang::en", "lang:日本", "lang:" + "e" * 64):
        assert unpack(data, "lang") is None, data
    assert unpack("lang:en", "lang") == ["en"]
    assert unpack("ses:done", "ses") == ["done"]
