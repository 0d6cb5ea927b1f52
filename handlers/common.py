"""Small pieces several handlers share: choice data, pickers, help texts."""

from __future__ import annotations

from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Button, Reply
from bot.i18n import SHIPPED_LOCALES, display_name


def choice_parts(data: str) -> list[str]:
    """Button data is "prefix:part:part"; parts never contain ':'."""
    return data.split(":")


def language_picker(ctx: Context, *, preselected: str | None = None) -> Reply:
    """Every shipped language by its own name; the preselected one first."""
    order = list(SHIPPED_LOCALES)
    if preselected in order:
        order.remove(preselected)
        order.insert(0, preselected)
    buttons = tuple(Button(display_name(code), f"lang:{code}") for code in order)
    return Reply(text=ctx.t._("Which language do you want to use?"), buttons=buttons, columns=2)


def student_help(ctx: Context) -> Reply:
    t = ctx.t
    lines = [
        t._("I send you a few questions after each session with your counselor."),
        t._("Answer in any language, with a button or in your own words."),
        "",
        t._("/journal – read what you wrote"),
        t._("/skip – skip the current question"),
        t._("/language – change the language"),
        t._("/timezone – set your time zone"),
        t._("/pause – pause questions for a while"),
        t._("/resume – receive questions again"),
        t._("/stop – stop all messages"),
        t._("/privacy – what is kept and who reads it"),
        t._("/mydata – get a copy of your data"),
        t._("/forget – delete all your data"),
    ]
    return Reply(text="\n".join(lines))


def counselor_help(ctx: Context) -> Reply:
    t = ctx.t
    lines = [
        t._("Commands for counselors:"),
        t._("/invite NAME – create an invite code for a student"),
        t._("/session – log a session and send the reflection"),
        t._("/digest – what your students wrote since your last digest"),
        t._("/digest NAME – one student's answers (/digest NAME 7d)"),
        t._("/students – your students and their status"),
        t._("/language – the language I write to you in"),
        t._("/timezone – your time zone (for the digest)"),
        t._("/help – this list"),
    ]
    return Reply(text="\n".join(lines))


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
