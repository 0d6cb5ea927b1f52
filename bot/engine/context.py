"""What a handler gets besides the event: the unit of work, who is talking, their locale."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.config import Settings
from bot.db.models import ChannelAccount, Counselor, Student
from bot.db.uow import UnitOfWork
from bot.i18n import Translator, translator
from bot.prompts import PromptBook


class CommandHelp(Protocol):
    """What handlers need of the declared commands (bot/engine/commands.py): their help lines."""

    def help_lines(self, audience: str, t: Translator) -> list[str]: ...


class NoCommands:
    """The help of a context built without commands (a scheduled job lists none)."""

    def help_lines(self, audience: str, t: Translator) -> list[str]:
        return []


@dataclass
class Context:
    uow: UnitOfWork
    now: datetime
    prompts: PromptBook
    settings: Settings
    account: ChannelAccount | None = None
    student: Student | None = None
    counselor: Counselor | None = None
    locale: str = ""
    links: dict[str, str] = field(default_factory=dict)  # channel -> join link template
    commands: CommandHelp = field(default_factory=NoCommands)  # for the help texts

    def __post_init__(self) -> None:
        if not self.locale:
            self.locale = self.settings.default_locale

    @property
    def t(self) -> Translator:
        """The translator for whoever sent the event being handled."""
        return translator(self.locale)

    def tr(self, locale: str) -> Translator:
        """The translator for someone else (a student the counselor acts on, and so on)."""
        return translator(locale)

    @property
    def actor(self) -> str:
        if self.counselor is not None:
            return f"counselor:{self.counselor.id}"
        if self.student is not None:
            return f"student:{self.student.id}"
        return "system"
