"""Student settings: help, pause, resume, stop, time zone, and blocking/unblocking the bot."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.db.states import StudentStatus
from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Reply
from handlers import alerts, followups
from handlers.buttons import TimezoneButton
from handlers.common import invalid_button, student_help

COMMON_ZONES = (
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Kathmandu",
    "Asia/Ho_Chi_Minh",
    "Asia/Yangon",
    "Asia/Seoul",
    "Asia/Colombo",
    "Asia/Jakarta",
    "Asia/Dhaka",
    "Asia/Ulaanbaatar",
    "Asia/Taipei",
    "UTC",
)
DEFAULT_PAUSE_DAYS = 7
MAX_PAUSE_DAYS = 90


async def help_(event: Inbound, ctx: Context) -> list[Reply]:
    """What the bot does and the commands a student has."""
    return [student_help(ctx)]


async def unknown_command(event: Inbound, ctx: Context) -> list[Reply]:
    """An unknown command gets the help text."""
    return [Reply(text=ctx.t._("I do not know that command.")), student_help(ctx)]


async def pause(event: Inbound, ctx: Context) -> list[Reply]:
    """Pause questions and reminders for N days (default 7); answering still works."""
    assert ctx.student is not None
    raw = event.args.strip()
    if raw and not raw.isdigit():
        return [
            Reply(
                text=ctx.t._(
                    "Send /pause for {days} days, or /pause DAYS (1 to {most}).",
                    days=DEFAULT_PAUSE_DAYS,
                    most=MAX_PAUSE_DAYS,
                )
            )
        ]
    days = max(1, min(int(raw) if raw else DEFAULT_PAUSE_DAYS, MAX_PAUSE_DAYS))
    ctx.student.paused_until = ctx.now + timedelta(days=days)
    return [
        Reply(
            text=ctx.t.ngettext(
                "Paused for {n} day. Send /resume to continue earlier.",
                "Paused for {n} days. Send /resume to continue earlier.",
                days,
            )
        )
    ]


async def resume(event: Inbound, ctx: Context) -> list[Reply]:
    """Receive questions again after /pause, /stop or a pause after a crisis message."""
    assert ctx.student is not None
    ctx.student.paused_until = None
    ctx.student.pause_reason = None
    ctx.student.status = StudentStatus.ACTIVE
    return [
        Reply(text=ctx.t._("Welcome back. I will send you questions again.")),
        *await followups.resume_for(ctx, ctx.student),
    ]


async def stop(event: Inbound, ctx: Context) -> list[Reply]:
    """Stop all messages until the student sends /start or /resume."""
    assert ctx.student is not None
    already = ctx.student.status == StudentStatus.STOPPED
    ctx.student.status = StudentStatus.STOPPED
    await ctx.uow.outbox.cancel_for_student(ctx.student.id, "stopped")
    alert = [] if already else await alerts.stopped(ctx, ctx.student)
    return [
        *alert,
        Reply(
            text=ctx.t._(
                "I will not send you any more messages. Your answers stay with your counselor "
                "for up to {days} days. To delete them now, send /forget. "
                "Send /start to begin again.",
                days=ctx.settings.retention_days,
            )
        ),
    ]


async def timezone(event: Inbound, ctx: Context) -> list[Reply]:
    """Set the time zone (an IANA name, or pick a common one)."""
    assert ctx.student is not None
    name = event.args.strip()
    asked = zone_question(ctx, current=ctx.student.timezone, typed=name)
    return asked if asked is not None else _set_zone(ctx, name)


def zone_question(ctx: Context, *, current: str, typed: str) -> list[Reply] | None:
    """The picker when no zone was typed, a clear answer for an unknown one; None when the
    typed zone is one to set (students and counselors share this)."""
    if not typed:
        buttons = tuple(TimezoneButton(zone).button(zone) for zone in COMMON_ZONES)
        text = ctx.t._(
            "Your time zone is {zone}. Pick yours, or send /timezone Area/City.", zone=current
        )
        return [Reply(text=text, buttons=buttons, columns=2)]
    if not known_zone(typed):
        text = ctx.t._(
            "I do not know the time zone {zone}. Example: /timezone Asia/Tokyo", zone=typed[:64]
        )
        return [Reply(text=text)]
    return None


async def timezone_choice(choice: TimezoneButton, event: Inbound, ctx: Context) -> list[Reply]:
    """Set the time zone picked from the buttons /timezone offered."""
    if choice.zone not in COMMON_ZONES:
        return invalid_button(ctx)
    return _set_zone(ctx, choice.zone)


def _set_zone(ctx: Context, zone: str) -> list[Reply]:
    assert ctx.student is not None
    ctx.student.timezone = zone
    return [Reply(text=ctx.t._("Your time zone is now {zone}.", zone=zone))]


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this system knows (Asia/Tokyo, UTC, ...)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return name in available_timezones()


async def unfollow(event: Inbound, ctx: Context) -> list[Reply]:
    """The student blocked the bot: stop sending."""
    assert ctx.student is not None
    was_reachable = ctx.student.reachable
    ctx.student.reachable = False
    await ctx.uow.outbox.cancel_for_student(ctx.student.id, "unreachable")
    return await alerts.unreachable(ctx, ctx.student) if was_reachable else []


async def follow(event: Inbound, ctx: Context) -> list[Reply]:
    """The student unblocked the bot: sending resumes with the open question."""
    assert ctx.student is not None
    ctx.student.reachable = True
    return [
        Reply(text=ctx.t._("Welcome back. I will send you questions again.")),
        *await followups.resume_for(ctx, ctx.student),
    ]
