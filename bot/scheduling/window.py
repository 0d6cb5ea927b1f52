"""The daily send window in a student's local time (e.g. 09:00-21:00, or across midnight),
and the weekly digest slot. Whether a clock time is inside the window is SendWindow's rule
(bot/prompts.py); this module only brings the moment into the student's zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.prompts import SendWindow


def in_window(moment: datetime, zone: str, window: SendWindow) -> bool:
    """Whether `moment` falls inside the window in `zone`'s local time."""
    return window.contains(moment.astimezone(ZoneInfo(zone)).time())


def next_window_start(moment: datetime, zone: str, window: SendWindow) -> datetime:
    """`moment` itself when inside the window, else the next opening, in UTC."""
    if in_window(moment, zone, window):
        return moment
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    opening = datetime.combine(local.date(), window.start, tzinfo=tz)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), window.start, tzinfo=tz)
    return opening.astimezone(UTC)


def last_weekly(moment: datetime, zone: str, weekday: int, at: time) -> datetime:
    """The latest `weekday` (0 = Monday) at `at` local time that is not after `moment`, in UTC."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = datetime.combine(day, at, tzinfo=tz)
    if slot > local:
        slot = datetime.combine(day - timedelta(days=7), at, tzinfo=tz)
    return slot.astimezone(UTC)
