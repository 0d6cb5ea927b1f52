"""A student in crisis, end to end: the real app, python-telegram-bot against the fake Bot
API (polling and webhook), the real database. Help at once, the set paused, the counselor
alerted at once on their own chat, and the set going on after /resume."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.test_telegram_e2e import (
    COUNSELOR,
    STUDENT,
    enrolled,
    keyboard,
    log_session,
    mode,
    world,
)
from tests.e2e.world import World
from tests.fakes.telegram_api import FakeTelegram

__all__ = ["mode", "world"]  # fixtures, shared with test_telegram_e2e

CRISIS = "honestly i just want to end it all"


async def test_a_crisis_answer_on_telegram(world: World, tg: FakeTelegram) -> None:
    await enrolled(world)
    await log_session(world, "Linh", "Interviews")
    await world.tg_press(STUDENT, "Skip")
    assert world.tg_texts(STUDENT)[-1].startswith("(2/7)")
    sent_before = len(tg.sent_messages(STUDENT))
    alerts_before = len(world.tg_texts(COUNSELOR))

    await world.tg_say(STUDENT, CRISIS)

    [help_] = tg.sent_messages(STUDENT)[sent_before:]  # the help, and nothing after it
    assert "Emergency (ambulance / fire): 119 (24 hours)" in help_["text"]
    assert "I have let your counselor know that you may need help." in help_["text"]
    assert help_["text"].endswith("When you want to go on, send /resume.")
    assert keyboard(help_) == []
    [alert] = world.tg_texts(COUNSELOR)[alerts_before:]
    assert alert.startswith("Urgent: an answer from Linh may mean they are in danger.")
    assert CRISIS not in alert

    await world.tick(timedelta(days=2))  # no reminder, no follow-up while paused
    assert len(tg.sent_messages(STUDENT)) == sent_before + 1

    await world.tg_say(STUDENT, "/resume")
    assert world.tg_texts(STUDENT)[-1].startswith("(3/7)")
    await world.tg_say(COUNSELOR, "/digest")
    assert "URGENT: may be in danger" in world.tg_texts(COUNSELOR)[-1]
