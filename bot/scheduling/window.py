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
