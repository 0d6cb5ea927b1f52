"""Every button family's payloads: one dataclass per payload, made and read through here.

`decode` checks the shape and the fixed vocabulary (a shipped language, yes/no, digits);
the handler then checks the choice against what was offered (the current question, the
session's topics, the counselor's own student). Data that fails either check is answered
with "That button is no longer valid." and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from bot.engine.buttons import ButtonData, small_int, unpack
from bot.i18n import SHIPPED_LOCALES

ConsentAnswer = Literal["yes", "no", "withdraw"]
SKIP = "skip"
SCALE = ("1", "2", "3", "4", "5")
YES_NO = ("yes", "no")


@dataclass(frozen=True)
class LanguageButton(ButtonData):
    """ "lang:<locale>": write to me in this language; "lang:menu": show all languages."""

    PREFIX: ClassVar[str] = "lang"
    MENU: ClassVar[str] = "menu"
    locale: str

    def parts(self) -> tuple[str, ...]:
        return (self.locale,)

    @classmethod
    def decode(cls, data: str) -> LanguageButton | None:
        match unpack(data, cls.PREFIX):
            case [locale] if locale in SHIPPED_LOCALES or locale == cls.MENU:
                return cls(locale)
        return None


@dataclass(frozen=True)
class ConsentButton(ButtonData):
    """ "consent:yes|no|withdraw": the answer to the consent question, or a withdrawal."""

    PREFIX: ClassVar[str] = "consent"
    answer: ConsentAnswer

    def parts(self) -> tuple[str, ...]:
        return (self.answer,)

    @classmethod
    def decode(cls, data: str) -> ConsentButton | None:
        match unpack(data, cls.PREFIX):
            case ["yes"]:
                return cls("yes")
            case ["no"]:
                return cls("no")
            case ["withdraw"]:
                return cls("withdraw")
        return None


@dataclass(frozen=True)
class AnswerButton(ButtonData):
    """ "a:<run>:<step>:<value>": an answer to one question of one run.

    `value` is "skip", a scale point "1"-"5", "yes"/"no" or a topic id; which of these
    the question offered is for the handler to check.
    """

    PREFIX: ClassVar[str] = "a"
    run_id: int
    step: int
    value: str

    def parts(self) -> tuple[str, ...]:
        return (str(self.run_id), str(self.step), self.value)

    @classmethod
    def decode(cls, data: str) -> AnswerButton | None:
        match unpack(data, cls.PREFIX):
            case [raw_run, raw_step, value]:
                run_id, step = small_int(raw_run), small_int(raw_step)
                if run_id is not None and step is not None:
                    return cls(run_id, step, value)
        return None


@dataclass(frozen=True)
class TimezoneButton(ButtonData):
    """ "tz:<Area/City>": one of the time zones the picker offered."""

    PREFIX: ClassVar[str] = "tz"
    zone: str

    def parts(self) -> tuple[str, ...]:
        return (self.zone,)

    @classmethod
    def decode(cls, data: str) -> TimezoneButton | None:
        match unpack(data, cls.PREFIX):
            case [zone]:
                return cls(zone)
        return None


@dataclass(frozen=True)
class ForgetButton(ButtonData):
    """ "forget:yes|no": confirm or cancel deleting everything."""

    PREFIX: ClassVar[str] = "forget"
    confirmed: bool

    def parts(self) -> tuple[str, ...]:
        return ("yes" if self.confirmed else "no",)

    @classmethod
    def decode(cls, data: str) -> ForgetButton | None:
        match unpack(data, cls.PREFIX):
            case [answer] if answer in YES_NO:
                return cls(answer == "yes")
        return None


# /session's picker: first the student, then topics toggled on and off, then Done.
@dataclass(frozen=True)
class SessionStudent(ButtonData):
    """ "ses:s:<student id>": the session was with this student."""

    PREFIX: ClassVar[str] = "ses"
    student_id: int

    def parts(self) -> tuple[str, ...]:
        return ("s", str(self.student_id))


@dataclass(frozen=True)
class SessionTopic(ButtonData):
    """ "ses:t:<topic id>": tick or untick a topic."""

    PREFIX: ClassVar[str] = "ses"
    topic_id: str

    def parts(self) -> tuple[str, ...]:
        return ("t", self.topic_id)


@dataclass(frozen=True)
class SessionDone(ButtonData):
    """ "ses:done": log the session with the ticked topics."""

    PREFIX: ClassVar[str] = "ses"

    def parts(self) -> tuple[str, ...]:
        return ("done",)


SessionChoice = SessionStudent | SessionTopic | SessionDone


class SessionButton:
    """The codec of the /session picker's three payloads."""

    PREFIX: ClassVar[str] = "ses"

    @classmethod
    def decode(cls, data: str) -> SessionChoice | None:
        match unpack(data, cls.PREFIX):
            case ["s", raw_id] if (student_id := small_int(raw_id)) is not None:
                return SessionStudent(student_id)
            case ["t", topic_id]:
                return SessionTopic(topic_id)
            case ["done"]:
                return SessionDone()
        return None
