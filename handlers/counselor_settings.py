"""A counselor's own language and time zone (the weekly digest comes in that zone)."""

from __future__ import annotations

from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Reply
from handlers.buttons import LanguageButton, TimezoneButton
from handlers.common import invalid_button, language_picker
from handlers.student import COMMON_ZONES, zone_question


async def language(event: Inbound, ctx: Context) -> list[Reply]:
    """Show the language picker."""
    assert ctx.counselor is not None
    return [language_picker(ctx, preselected=ctx.counselor.locale)]


async def choose_language(choice: LanguageButton, event: Inbound, ctx: Context) -> list[Reply]:
    """Set the counselor's language from a picker button."""
    assert ctx.counselor is not None
    if choice.locale == LanguageButton.MENU:
        return [language_picker(ctx, preselected=ctx.counselor.locale)]
    ctx.counselor.locale = ctx.locale = choice.locale
    # TRANSLATORS: name your own language as it reads inside a sentence
    # (vi: "bằng tiếng Việt", zh_Hans: "用简体中文"), not as a list entry.
    text = ctx.t._("From now on I write to you in English: alerts, the digest and its labels.")
    return [Reply(text=text)]


async def timezone(event: Inbound, ctx: Context) -> list[Reply]:
    """Set the counselor's time zone (an IANA name, or pick a common one)."""
    assert ctx.counselor is not None
    name = event.args.strip()
    asked = zone_question(ctx, current=ctx.counselor.timezone, typed=name)
    return asked if asked is not None else _set_zone(ctx, name)


async def timezone_choice(choice: TimezoneButton, event: Inbound, ctx: Context) -> list[Reply]:
    """Set the time zone picked from the buttons /timezone offered."""
    if choice.zone not in COMMON_ZONES:
        return invalid_button(ctx)
    return _set_zone(ctx, choice.zone)


def _set_zone(ctx: Context, zone: str) -> list[Reply]:
    assert ctx.counselor is not None
    ctx.counselor.timezone = zone
    t = ctx.t
    lines = [
        t._("Your time zone is now {zone}.", zone=zone),
        t._("Times in the digest, and the weekly digest, follow this time zone."),
    ]
    return [Reply(text="\n".join(lines))]
