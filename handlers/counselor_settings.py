"""A counselor's own language and time zone (the weekly digest comes in that zone)."""

from __future__ import annotations

from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Reply
from bot.i18n import SHIPPED_LOCALES, display_name
from handlers.common import language_picker
from handlers.student import COMMON_ZONES, known_zone


async def language(event: Inbound, ctx: Context) -> list[Reply]:
    """Show the language picker."""
    assert ctx.counselor is not None
    return [language_picker(ctx, preselected=ctx.counselor.locale)]


async def choose_language(event: Inbound, ctx: Context) -> list[Reply]:
    """Set the counselor's language from a picker button."""
    assert ctx.counselor is not None
    choice = event.data.partition(":")[2]
    if choice not in SHIPPED_LOCALES:
        return [language_picker(ctx, preselected=ctx.counselor.locale)]
    ctx.counselor.locale = ctx.locale = choice
    text = ctx.t._(
        "From now on I write to you in {language}: alerts, the digest and its labels.",
        language=display_name(choice),
    )
    return [Reply(text=text)]


async def timezone(event: Inbound, ctx: Context) -> list[Reply]:
    """Set the counselor's time zone (an IANA name, or pick a common one)."""
    assert ctx.counselor is not None
    t = ctx.t
    name = event.args.strip() or (event.data.partition(":")[2] if event.data else "")
    if not name:
        buttons = tuple(Button(zone, f"tz:{zone}") for zone in COMMON_ZONES)
        text = t._(
            "Your time zone is {zone}. Pick yours, or send /timezone Area/City.",
            zone=ctx.counselor.timezone,
        )
        return [Reply(text=text, buttons=buttons, columns=2)]
    if not known_zone(name):
        return [
            Reply(
                text=t._(
                    "I do not know the time zone {zone}. Example: /timezone Asia/Tokyo",
                    zone=name[:64],
                )
            )
        ]
    ctx.counselor.timezone = name
    return [
        Reply(
            text="\n".join(
                [
                    t._("Your time zone is now {zone}.", zone=name),
                    t._("Times in the digest, and the weekly digest, follow this time zone."),
                ]
            )
        )
    ]
