"""Feature handlers, and the table that routes each event to one of them.

A handler is `async (event, context) -> list[Reply]`: it reads and changes state through
the unit of work in the context and returns replies as data. It never sends anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Reply
from handlers import (
    common,
    counselor,
    counselor_settings,
    onboarding,
    privacy,
    reflection,
    safety,
    student,
)
from handlers.digest import chat as digest_chat

Handler = Callable[[Inbound, Context], Awaitable[list[Reply]]]

COUNSELOR_COMMANDS: dict[str, Handler] = {
    "start": onboarding.counselor_start,
    "help": counselor.help_,
    "invite": counselor.invite,
    "session": counselor.session,
    "digest": digest_chat.digest,
    "students": counselor.students,
    "language": counselor_settings.language,
    "timezone": counselor_settings.timezone,
}
COUNSELOR_CHOICES: dict[str, Handler] = {
    "ses": counselor.session_choice,
    "dig": digest_chat.digest_choice,
    "lang": counselor_settings.choose_language,
    "tz": counselor_settings.timezone,
}

STUDENT_COMMANDS: dict[str, Handler] = {
    "start": onboarding.restart,
    "help": student.help_,
    "language": onboarding.language_command,
    "skip": reflection.skip,
    "journal": reflection.journal,
    "pause": student.pause,
    "resume": student.resume,
    "stop": student.stop,
    "timezone": student.timezone,
    "privacy": privacy.privacy,
    "mydata": privacy.mydata,
    "forget": privacy.forget,
}
STUDENT_CHOICES: dict[str, Handler] = {
    "lang": onboarding.choose_language,
    "consent": onboarding.consent_answer,
    "a": reflection.choice,
    "tz": student.timezone,
    "forget": privacy.forget_choice,
}
# Before consent (or after it was withdrawn) only these work: the rest would store something.
# /mydata and /forget stay open: a student who withdrew may still want a copy, then deletion.
BEFORE_CONSENT_COMMANDS = {"start", "help", "language", "privacy", "mydata", "forget"}
BEFORE_CONSENT_CHOICES = {"lang", "consent", "forget"}


async def handle(event: Inbound, ctx: Context) -> list[Reply]:
    """Route one event to its handler by who sent it and what it is."""
    if event.kind is Kind.GROUP:
        return await common.refuse_group(event, ctx)
    if ctx.counselor is not None:
        return await _counselor(event, ctx)
    if ctx.student is not None:
        return await _student(event, ctx)
    return await onboarding.stranger(event, ctx)


async def _counselor(event: Inbound, ctx: Context) -> list[Reply]:
    if event.kind is Kind.COMMAND:
        return await COUNSELOR_COMMANDS.get(event.command, counselor.help_)(event, ctx)
    if event.kind is Kind.CHOICE:
        handler = COUNSELOR_CHOICES.get(event.data.split(":", 1)[0])
        return await handler(event, ctx) if handler else []
    if event.kind is Kind.MEDIA:
        return await common.text_please(event, ctx)
    if event.kind in (Kind.FOLLOW, Kind.UNFOLLOW, Kind.EDIT, Kind.UNSEND):
        return []
    return await counselor.help_(event, ctx)


async def _student(event: Inbound, ctx: Context) -> list[Reply]:
    assert ctx.student is not None
    if event.kind is Kind.UNFOLLOW:
        return await student.unfollow(event, ctx)
    if event.kind is Kind.FOLLOW:
        return await student.follow(event, ctx)
    if event.kind is Kind.MEDIA:
        return await common.text_please(event, ctx)
    consented = ctx.student.consent == "given"
    if event.kind is Kind.COMMAND:
        if not consented and event.command not in BEFORE_CONSENT_COMMANDS:
            return [await onboarding.consent_request(ctx)]
        return await STUDENT_COMMANDS.get(event.command, student.unknown_command)(event, ctx)
    if event.kind is Kind.CHOICE:
        prefix = event.data.split(":", 1)[0]
        if not consented and prefix not in BEFORE_CONSENT_CHOICES:
            return [await onboarding.consent_request(ctx)]
        handler = STUDENT_CHOICES.get(prefix)
        return await handler(event, ctx) if handler else []
    if not consented:
        # Nothing is kept before consent; a cry for help still gets the help contacts.
        crisis = event.kind is Kind.TEXT and safety.is_crisis(ctx, event.text)
        help_ = safety.help_replies(ctx, counselor_told=False) if crisis else []
        return [*help_, await onboarding.consent_request(ctx)]
    if event.kind is Kind.EDIT:
        return await reflection.edit(event, ctx)
    if event.kind is Kind.UNSEND:
        return await reflection.unsend(event, ctx)
    return await reflection.answer_text_message(event, ctx)
