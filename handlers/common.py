"""Small pieces several handlers share: pickers, help texts, refusals."""

from __future__ import annotations

from bot.engine.commands import Audience
from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Reply
from bot.i18n import SHIPPED_LOCALES, display_name
from handlers.buttons import LanguageButton


def language_picker(ctx: Context, *, preselected: str | None = None) -> Reply:
    """Every shipped language by its own name; the preselected one first."""
    order = list(SHIPPED_LOCALES)
    if preselected in order:
        order.remove(preselected)
        order.insert(0, preselected)
    buttons = tuple(LanguageButton(code).button(display_name(code)) for code in order)
    return Reply(text=ctx.t._("Which language do you want to use?"), buttons=buttons, columns=2)


def student_help(ctx: Context) -> Reply:
    """What the bot does, and the student commands as declared (handlers/__init__.py)."""
    t = ctx.t
    lines = [
        t._("I send you a few questions after each session with your counselor."),
        t._("Answer in any language, with a button or in your own words."),
        "",
        *ctx.commands.help_lines(Audience.STUDENT, t),
    ]
    return Reply(text="\n".join(lines))


def counselor_help(ctx: Context) -> Reply:
    """The counselor commands as declared (handlers/__init__.py)."""
    t = ctx.t
    lines = [t._("Commands for counselors:"), *ctx.commands.help_lines(Audience.COUNSELOR, t)]
    return Reply(text="\n".join(lines))


def invalid_button(ctx: Context) -> list[Reply]:
    """The answer to a press whose data was not offered, or is no longer: nothing changes."""
    return [Reply(text=ctx.t._("That button is no longer valid."))]


def how_to_join(ctx: Context) -> Reply:
    return Reply(
        text=ctx.t._(
            "Hello! I am furikaeri, a reflection bot for career counseling. "
            "To join, open the link from your counselor, or send the code here like this: "
            "/start CODE"
        )
    )


async def text_please(event: Inbound, ctx: Context) -> list[Reply]:
    """Answer stickers, photos, voice, files and locations with a polite request for text."""
    return [Reply(text=ctx.t._("Sorry, I can only read text. Please write your answer."))]


async def refuse_group(event: Inbound, ctx: Context) -> list[Reply]:
    """Refuse group chats: answers are private, so the bot works only in 1:1 chats."""
    return [
        Reply(
            text=ctx.t._(
                "I work only in private 1:1 chats, so that answers stay private. "
                "Please message me directly."
            )
        )
    ]
