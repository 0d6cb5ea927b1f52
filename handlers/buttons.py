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


@dataclass(frozen=True)
class SessionCancel(ButtonData):
    """ "ses:x": close the picker and log nothing."""

    PREFIX: ClassVar[str] = "ses"

    def parts(self) -> tuple[str, ...]:
        return ("x",)


SessionChoice = SessionStudent | SessionTopic | SessionDone | SessionCancel


class SessionButton:
    """The codec of the /session picker's four payloads."""

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
            case ["x"]:
                return SessionCancel()
        return None


# /digest's buttons carry the window they were made for (`since`, a Unix time), so a press
# shows the same period as the overview it came from, after a restart too.
@dataclass(frozen=True)
class DigestOpen(ButtonData):
    """ "dig:s:<student id>:<since>": one student's detail, first page (a new message)."""

    PREFIX: ClassVar[str] = "dig"
    student_id: int
    since: int

    def parts(self) -> tuple[str, ...]:
        return ("s", str(self.student_id), str(self.since))


@dataclass(frozen=True)
class DigestPage(ButtonData):
    """ "dig:p:<student id>:<since>:<page>": turn a page of that detail (edited in place)."""

    PREFIX: ClassVar[str] = "dig"
    student_id: int
    since: int
    page: int

    def parts(self) -> tuple[str, ...]:
        return ("p", str(self.student_id), str(self.since), str(self.page))


@dataclass(frozen=True)
class DigestFile(ButtonData):
    """ "dig:f:<since>": the whole digest of that window as one file (Telegram)."""

    PREFIX: ClassVar[str] = "dig"
    since: int

    def parts(self) -> tuple[str, ...]:
        return ("f", str(self.since))


DigestChoice = DigestOpen | DigestPage | DigestFile


class DigestButton:
    """The codec of the digest's three payloads."""

    PREFIX: ClassVar[str] = "dig"

    @classmethod
    def decode(cls, data: str) -> DigestChoice | None:
        parts = unpack(data, cls.PREFIX)
        if not parts:
            return None
        kind, numbers = parts[0], [small_int(part) for part in parts[1:]]
        values = [n for n in numbers if n is not None]
        if len(values) != len(numbers):
            return None
        if kind == "s" and len(values) == 2:
            return DigestOpen(*values)
        if kind == "p" and len(values) == 3:
            return DigestPage(*values)
        if kind == "f" and len(values) == 1:
            return DigestFile(*values)
        return None
