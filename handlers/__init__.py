"""Feature handlers, every command and button family declared once, and the router.

A handler is `async (event, context) -> list[Reply]` (a button handler also gets the
decoded payload first): it reads and changes state through the unit of work in the
context and returns replies as data. It never sends anything.

COMMANDS is the one list of what a student or a counselor can type or press. The router
below, the help texts (handlers/common.py) and the chat apps' command menus
(bot/bootstrap.py) are derived from it; docs/adding-a-command.md shows how to add one.
"""

from __future__ import annotations

import logging

from bot.engine.commands import Audience, ButtonFamily, Command, CommandBook
from bot.engine.context import Context
from bot.engine.events import Inbound, Kind
from bot.engine.replies import Reply
from bot.i18n import N_
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
from handlers.buttons import (
    AnswerButton,
    ConsentButton,
    DigestButton,
    ForgetButton,
    LanguageButton,
    SessionButton,
    TimezoneButton,
)
from handlers.digest import chat as digest_chat

log = logging.getLogger(__name__)
# What of an event from someone who has not consented is stored until it is handled.
screen_before_consent = onboarding.screen_before_consent

STUDENT, COUNSELOR = Audience.STUDENT, Audience.COUNSELOR

# Descriptions are the command menu entries (Telegram: at most 256 characters, short is
# better) and the help lines, in this order. Before consent (or after it was withdrawn) only
# `before_consent` ones work: the rest would store something. /mydata and /forget stay open:
# a student who withdrew may still want a copy, then deletion.
COMMANDS = CommandBook(
    commands=(
        Command("start", STUDENT, onboarding.restart, before_consent=True),
        # TRANSLATORS: a command in the chat app's menu; keep it short
        Command("journal", STUDENT, reflection.journal, N_("Read what you wrote")),
        Command("skip", STUDENT, reflection.skip, N_("Skip the current question")),
        Command(
            "language",
            STUDENT,
            onboarding.language_command,
            N_("Change the language"),
            before_consent=True,
        ),
        Command("timezone", STUDENT, student.timezone, N_("Set your time zone")),
        Command("pause", STUDENT, student.pause, N_("Pause questions for a while")),
        Command("resume", STUDENT, student.resume, N_("Receive questions again")),
        Command("stop", STUDENT, student.stop, N_("Stop all messages")),
        Command(
            "privacy",
            STUDENT,
            privacy.privacy,
            N_("What is kept and who reads it"),
            before_consent=True,
        ),
        Command(
            "mydata", STUDENT, privacy.mydata, N_("Get a copy of your data"), before_consent=True
        ),
        Command("forget", STUDENT, privacy.forget, N_("Delete all your data"), before_consent=True),
        Command("help", STUDENT, student.help_, N_("What I can do"), before_consent=True),
        Command("start", COUNSELOR, onboarding.counselor_start),
        # TRANSLATORS: a command in the chat app's menu; keep it short
        Command(
            "session", COUNSELOR, counselor.session, N_("Log a session and send the reflection")
        ),
        Command(
            "digest",
            COUNSELOR,
            digest_chat.digest,
            N_("What your students wrote"),
            # TRANSLATORS: what a counselor may type after /digest: a student's name and a
            # period ("7d" = the last 7 days, typed as is), both optional
            usage=N_("[NAME] [7d]"),
        ),
        Command(
            "invite",
            COUNSELOR,
            counselor.invite,
            N_("Create an invite code for a student"),
            # TRANSLATORS: what a counselor types after /invite, in capitals like a placeholder
            usage=N_("NAME"),
        ),
        Command("students", COUNSELOR, counselor.students, N_("Your students and their status")),
        Command("language", COUNSELOR, counselor_settings.language, N_("Change the language")),
        Command("timezone", COUNSELOR, counselor_settings.timezone, N_("Set your time zone")),
        Command("help", COUNSELOR, counselor.help_, N_("Commands for counselors")),
    ),
    buttons=(
        ButtonFamily(LanguageButton, STUDENT, onboarding.choose_language, before_consent=True),
        ButtonFamily(ConsentButton, STUDENT, onboarding.consent_answer, before_consent=True),
        ButtonFamily(AnswerButton, STUDENT, reflection.choice),
        ButtonFamily(TimezoneButton, STUDENT, student.timezone_choice),
        ButtonFamily(ForgetButton, STUDENT, privacy.forget_choice, before_consent=True),
        ButtonFamily(SessionButton, COUNSELOR, counselor.session_choice),
        ButtonFamily(DigestButton, COUNSELOR, digest_chat.digest_choice),
        ButtonFamily(LanguageButton, COUNSELOR, counselor_settings.choose_language),
        ButtonFamily(TimezoneButton, COUNSELOR, counselor_settings.timezone_choice),
    ),
)


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
        command = COMMANDS.command(COUNSELOR, event.command)
        return await (command.handler if command else counselor.help_)(event, ctx)
    if event.kind is Kind.CHOICE:
        return await _press(COUNSELOR, event, ctx)
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
    if event.kind in (Kind.TEXT, Kind.EDIT) and safety.is_crisis(ctx, event.text):
        return await safety.crisis(event, ctx)  # before anything else, consent included
    consented = ctx.student.has_consented
    if consented and safety.is_paused_by_crisis(ctx.student) and _answers_question(event):
        return safety.while_paused(event, ctx)
    if event.kind is Kind.COMMAND:
        command = COMMANDS.command(STUDENT, event.command)
        if not consented and (command is None or not command.before_consent):
            return [await onboarding.consent_request(ctx)]
        return await (command.handler if command else student.unknown_command)(event, ctx)
    if event.kind is Kind.CHOICE:
        family = COMMANDS.family(STUDENT, event.data)
        if family is not None and not consented and not family.before_consent:
            return [await onboarding.consent_request(ctx)]
        return await _press(STUDENT, event, ctx)
    if not consented:
        return [await onboarding.consent_request(ctx)]  # nothing is kept before consent
    if event.kind is Kind.EDIT:
        return await reflection.edit(event, ctx)
    if event.kind is Kind.UNSEND:
        return await reflection.unsend(event, ctx)
    return await reflection.answer_text_message(event, ctx)


def _answers_question(event: Inbound) -> bool:
    """A typed answer, an answer button or /skip: what moves a question set on."""
    if event.kind is Kind.TEXT:
        return True
    if event.kind is Kind.CHOICE:
        return AnswerButton.decode(event.data) is not None
    return event.kind is Kind.COMMAND and event.command == "skip"


async def _press(audience: Audience, event: Inbound, ctx: Context) -> list[Reply]:
    """Hand a button press to its family; data no family of this audience reads is refused."""
    family = COMMANDS.family(audience, event.data)
    replies = await family.handle(event, ctx) if family is not None else None
    if replies is None:
        # Only a declared prefix is logged: the data itself is whatever the client sent.
        shown = family.prefix if family is not None else "unknown"
        log.info("button.refused", extra={"audience": audience, "family": shown})
        return common.invalid_button(ctx)
    return replies
