"""Declared commands and button families: what each is, who may use it, what handles it.

Features declare every command and every button family once (handlers/__init__.py). The
routing, the help texts and the chat apps' command menus are all derived from that list,
so a command cannot be routed but missing from the menu, or listed in the help but gone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from bot.engine.buttons import prefix_of
from bot.engine.context import Context
from bot.engine.events import Inbound
from bot.engine.replies import Reply
from bot.i18n import MissingTranslation, Translator, translator

log = logging.getLogger(__name__)
Handler = Callable[[Inbound, Context], Awaitable[list[Reply]]]

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)


class Audience(StrEnum):
    STUDENT = "student"
    COUNSELOR = "counselor"


@dataclass(frozen=True)
class Command:
    """One "/name" for one audience. `description` and `usage` are N_() catalog strings."""

    name: str
    audience: Audience
    handler: Handler
    description: str = ""  # the menu entry and the help line; "" keeps it out of both
    usage: str = ""  # the argument the help line shows after the name, e.g. "NAME"
    before_consent: bool = False  # open to a student who has not (or no longer) consented


class Codec(Protocol[P_co]):
    """A button family's payload type(s): the prefix it owns and how to read its data."""

    PREFIX: str

    def decode(self, data: str) -> P_co | None: ...


@dataclass(frozen=True)
class ButtonFamily(Generic[P]):
    """The buttons of one prefix, the codec that reads them and the handler they go to."""

    codec: Codec[P]
    audience: Audience
    handler: Callable[[P, Inbound, Context], Awaitable[list[Reply]]]
    before_consent: bool = False

    @property
    def prefix(self) -> str:
        return self.codec.PREFIX

    async def handle(self, event: Inbound, ctx: Context) -> list[Reply] | None:
        """The handler's replies; None when the data does not decode (forged or mangled)."""
        choice = self.codec.decode(event.data)
        if choice is None:
            return None
        return await self.handler(choice, event, ctx)


class CommandBook:
    """Every declared command and button family, looked up by audience."""

    def __init__(
        self, commands: Sequence[Command] = (), buttons: Sequence[ButtonFamily[Any]] = ()
    ) -> None:
        self.commands = tuple(commands)
        self.buttons = tuple(buttons)
        self._commands: dict[tuple[Audience, str], Command] = {}
        self._buttons: dict[tuple[Audience, str], ButtonFamily[Any]] = {}
        for command in self.commands:
            key = (command.audience, command.name)
            if key in self._commands:
                raise ValueError(f"/{command.name} is declared twice for {command.audience}")
            self._commands[key] = command
        for family in self.buttons:
            key = (family.audience, family.prefix)
            if key in self._buttons:
                raise ValueError(f"buttons {family.prefix!r} declared twice for {family.audience}")
            self._buttons[key] = family

    def command(self, audience: Audience, name: str) -> Command | None:
        return self._commands.get((audience, name))

    def family(self, audience: Audience, data: str) -> ButtonFamily[Any] | None:
        """The family whose prefix the data carries, if this audience has it."""
        return self._buttons.get((audience, prefix_of(data)))

    def listed(self, audience: str) -> list[Command]:
        """The commands shown in the menu and the help, in declaration order."""
        return [c for c in self.commands if c.audience == audience and c.description]

    def help_lines(self, audience: str, t: Translator) -> list[str]:
        """One line per listed command: "/name ARG – what it does"."""
        lines = []
        for command in self.listed(audience):
            usage = f" {t._(command.usage)}" if command.usage else ""
            lines.append(f"/{command.name}{usage} – {t._(command.description)}")
        return lines

    def menu(self, audience: Audience, locale: str) -> list[tuple[str, str]] | None:
        """(command, description) in `locale`; None when its catalog lacks a description
        (strict mode), so the platform shows its default menu instead of a broken one."""
        t = translator(locale)
        try:
            return [(c.name, t._(c.description)) for c in self.listed(audience)]
        except MissingTranslation:
            log.warning("menus.untranslated", extra={"locale": locale})
            return None
