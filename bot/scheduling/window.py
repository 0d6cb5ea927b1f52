"""The daily send window in a student's local time (e.g. 09:00-21:00, or across midnight)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def in_window(moment: datetime, zone: str, start: time, end: time) -> bool:
    local = moment.astimezone(ZoneInfo(zone)).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # across midnight, e.g. 22:00-06:00


def next_window_start(moment: datetime, zone: str, start: time, end: time) -> datetime:
    """`moment` itself when inside the window, else the next opening, in UTC."""
    if in_window(moment, zone, start, end):
        return moment
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    opening = datetime.combine(local.date(), start, tzinfo=tz)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=tz)
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
