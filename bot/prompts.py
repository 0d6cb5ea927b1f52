"""Load and validate the question sets, topic catalog, schedule and safety file in prompts/.

Every human-readable string here is an English msgid; translation happens at send time
from the gettext catalogs. Any problem in a file raises `PromptError` with one line that
names the file and the field, e.g.
``prompts/work_life.yaml: steps.1.pool.0.low: required for a scale question``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from bot.i18n import SHIPPED_LOCALES, Translator, translator
from bot.paths import data_dir
from bot.safety import Matcher, PhraseError, compile_phrase

REFLECTION_SET = "reflection"
TOPICS_FILE = "topics.yaml"
SCHEDULE_FILE = "schedule.yaml"
SAFETY_FILE = "safety.yaml"
RESERVED_FILES = frozenset({TOPICS_FILE, SCHEDULE_FILE, SAFETY_FILE})

MAX_TOPIC_LABEL = 20  # LINE quick-reply label limit
MAX_SCALE_LABEL = 20
MAX_QUESTION_ID = 64  # answers.question_id column
MAX_BUTTON_LABEL = 20  # LINE quick-reply label limit, for yes/no answers too
DATE_PLACEHOLDER = "{date}"
_TODAY = re.compile(r"\btoday\b", re.IGNORECASE)
_PLACEHOLDERS = re.compile(r"\{[a-z_]+\}")


class QuestionKind(StrEnum):
    """What a question offers besides free text: topic buttons, a 1-5 scale, yes/no."""

    TOPICS = "topics"
    TEXT = "text"
    SCALE = "scale"
    YESNO = "yesno"


MAX_DIGEST_LABEL = 40  # a set's, step's or question's short name in the counselor's digest


_SLUG = re.compile(r"[a-z][a-z0-9_]*")
_TOPIC_ID = re.compile(r"[a-z_]{1,16}")
_FLAG = re.compile(r"[a-z][a-z0-9_]*")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_ISO_DURATION = re.compile(
    r"""
    P (?!$)                                 # at least one component
    (?: \d+(?:[.,]\d+)? W                    # weeks, on their own
      | (?: \d+(?:[.,]\d+)? D )?
        (?: T (?=\d)                          # a time part is not empty
            (?: \d+(?:[.,]\d+)? H )?
            (?: \d+(?:[.,]\d+)? M )?
            (?: \d+(?:[.,]\d+)? S )?
        )?
    )
    """,
    re.VERBOSE,
)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIMEDELTA = TypeAdapter(timedelta)
_M = TypeVar("_M", bound=BaseModel)


class PromptError(ValueError):
    """A prompts file is missing, unreadable or breaks a rule."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: {field}: {problem}" if field else f"{file}: {problem}")


# ---------------------------------------------------------------------------- durations


def iso_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration such as P2D, PT24H, P1DT12H or PT0.5S into a timedelta.

    Days, hours, minutes, seconds (fractions allowed) and weeks on their own (P1W).
    Years and months are refused: they have no fixed length.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 duration such as P2D or PT24H, got {text!r}")
    value = text.strip()
    if not _ISO_DURATION.fullmatch(value):
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration such as P2D, PT24H or PT0.5S"
            " (days, hours, minutes and seconds; no years or months)"
        )
    return _TIMEDELTA.validate_python(value.replace(",", "."))


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return iso_duration(value)


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 21:00 as the sexagesimal number 1260.
        raise ValueError('write the time in quotes, like "21:00"')
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'expected a time "HH:MM" such as "09:00", got {value!r}')
    return time(int(match[1]), int(match[2]))


def _weekday(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    name = value.strip().lower() if isinstance(value, str) else ""
    for number, day in enumerate(_WEEKDAYS):
        if name in (day, _WEEKDAY_NAMES[number]):
            return number
    raise ValueError(f"expected a weekday mon, tue, wed, thu, fri, sat or sun, got {value!r}")


def _quoted_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'write it in quotes, like "{value}"')
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Clock = Annotated[time, BeforeValidator(_clock)]
Weekday = Annotated[int, BeforeValidator(_weekday)]
Text = Annotated[str, BeforeValidator(_quoted_text)]


# ---------------------------------------------------------------------------- models


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Question(_Frozen):
    """One wording of a step; its id is stored with every answer, forever."""

    id: str
    text: Text
    kind: QuestionKind
    # The text for a later day than the session's: "today" would no longer be true.
    later: Text | None = None
    # The counselor's digest names a question by its step (`label`, else `mirror`); a variant
    # that asked something else than its step's current ones (a retired one) names itself.
    label: Text | None = None
    low: Text | None = None  # label for 1 on a scale question
    high: Text | None = None  # label for 5 on a scale question
    # The buttons of a yes/no question, worded as natural answers to it.
    answer_yes: Text | None = None
    answer_no: Text | None = None
    # Kept so that stored answers keep their question; never asked again.
    retired: bool = False

    def text_for(self, *, later: bool) -> str:
        """The msgid to ask: the `later` form once the session's day has passed."""
        return self.later if later and self.later else self.text


class Step(_Frozen):
    """One question slot in a set, with interchangeable variants rotated between rounds."""

    id: str
    kind: QuestionKind
    mirror: Text  # labels the answer when answers are shown back (the mirror, /journal)
    # The step's short name in the counselor's digest, where the mirror does not suit a
    # counselor ("You noticed"); without it the digest shows the mirror.
    label: Text | None = None
    flag: str | None = None  # raised in the digest when a yesno step is answered yes
    only_if_answered: str | None = None  # asked only when this earlier step was answered
    pool: list[Question] = Field(min_length=1)

    @property
    def current(self) -> list[Question]:
        """The variants that may still be asked."""
        return [question for question in self.pool if not question.retired]

    @model_validator(mode="before")
    @classmethod
    def _copy_kind_into_pool(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping) and isinstance(raw.get("pool"), list):
            pool = [
                {**item, "kind": raw.get("kind")} if isinstance(item, Mapping) else item
                for item in raw["pool"]
            ]
            return {**raw, "pool": pool}
        return raw


class QuestionSet(_Frozen):
    """A set of questions sent one per message, with a line before and after."""

    id: str
    label: Text | None = None  # short name in the counselor's digest; else the id
    intro: Text
    intro_later: Text | None = None  # the intro for a later day than the session's
    outro: Text
    journal: Text  # heading of the set's answers in /journal; {date} is the session's date
    steps: list[Step] = Field(min_length=1)

    def intro_for(self, *, later: bool) -> str:
        """The msgid of the intro: the `intro_later` form once the session's day has passed."""
        return self.intro_later if later and self.intro_later else self.intro


class Topic(_Frozen):
    """A session topic a counselor can tick; a button in the reflection's first question."""

    id: str
    label: Text
    name: Text


class _TopicsFile(_Frozen):
    topics: list[Topic] = Field(min_length=1)


class Followup(NamedTuple):
    """A follow-up set and how long after the session it is due."""

    set: str
    after: timedelta


class _FollowupEntry(_Frozen):
    set: str
    after: Duration


class SendWindow(_Frozen):
    """Local hours in which messages may be sent; end < start crosses midnight."""

    start: Clock
    end: Clock

    def contains(self, moment: time) -> bool:
        """Tell whether a local clock time falls inside the window (start in, end out)."""
        moment = moment.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class DigestPush(_Frozen):
    """When the digest is pushed to counselors: weekday 0 (Monday) to 6, local time."""

    weekday: Weekday
    time: Clock


class Schedule(_Frozen):
    """When the bot asks, reminds, gives up and pushes the digest."""

    reflection_delay: Duration
    followups: list[Followup]
    send_window: SendWindow | None
    reminder_after: Duration | None
    expire_after: Duration
    digest_push: DigestPush | None = None


class _ScheduleFile(_Frozen):
    reflection_delay: Duration
    followups: list[_FollowupEntry] = Field(default_factory=list)
    send_window: SendWindow | None
    reminder_after: Duration | None
    expire_after: Duration
    digest_push: DigestPush | None = None


def _localized_text(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "en" not in value:
            raise ValueError("give the text in English (en) too, for the other languages")
        unknown = sorted(set(value) - set(SHIPPED_LOCALES))
        if unknown:
            known = ", ".join(SHIPPED_LOCALES)
            raise ValueError(f"unknown language {unknown[0]!r} (known: {known})")
        return {locale: _quoted_text(text) for locale, text in value.items()}
    return _quoted_text(value)


LocalText = Annotated[str | dict[str, str], BeforeValidator(_localized_text)]


class Contact(_Frozen):
    """A help contact shown to a student whose message suggests danger.

    Shipped contacts are English msgids, translated from the catalogs. A deployment's own
    contact (`local: true`, e.g. the university's counseling center) is shown as written,
    or per language when its text is a mapping such as {en: ..., ja: ...}.
    """

    id: str
    name: LocalText
    phone: Text
    hours: LocalText
    note: LocalText | None = None
    source: str
    local: bool = False

    def text(self, field: Literal["name", "hours", "note"], t: Translator) -> str:
        """The field in the reader's language."""
        value = getattr(self, field)
        if value is None:
            return ""
        if not self.local:
            return t._(value)
        if isinstance(value, dict):
            return str(value.get(t.locale, value["en"]))
        return str(value)


class Safety(_Frozen):
    """Crisis phrases per locale (patterns, see bot/safety.py), near misses, help contacts."""

    phrases: dict[str, list[str]]
    exceptions: dict[str, list[str]] = Field(default_factory=dict)
    contacts: list[Contact] = Field(min_length=1)

    _matcher: Matcher = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._matcher = Matcher(self.phrases, self.exceptions)

    def match(self, text: str) -> str | None:
        """Return the first crisis phrase found in the text (as written), or None."""
        return self._matcher.match(text)

    @property
    def has_local_contact(self) -> bool:
        """Whether the deployment added a contact of its own (its counseling center)."""
        return any(contact.local for contact in self.contacts)


class PromptBook(_Frozen):
    """Everything in prompts/, validated; look questions up by their stable id."""

    sets: dict[str, QuestionSet]
    topics: list[Topic]
    schedule: Schedule
    safety: Safety

    _questions: dict[str, tuple[QuestionSet, Step, Question]] = PrivateAttr(default_factory=dict)
    _topics: dict[str, Topic] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        for question_set in self.sets.values():
            for step in question_set.steps:
                for question in step.pool:
                    self._questions[question.id] = (question_set, step, question)
        self._topics.update((topic.id, topic) for topic in self.topics)

    def question(self, question_id: str) -> Question:
        """Return the question with this id (KeyError if there is none)."""
        return self._lookup(question_id)[2]

    def step_of(self, question_id: str) -> Step:
        """Return the step whose pool holds this question."""
        return self._lookup(question_id)[1]

    def set_of(self, question_id: str) -> QuestionSet:
        """Return the set that holds this question."""
        return self._lookup(question_id)[0]

    def digest_label(self, question_id: str) -> str:
        """The msgid of a question's short name in the counselor's digest."""
        _, step, question = self._lookup(question_id)
        return question.label or step.label or step.mirror

    def topic(self, topic_id: str) -> Topic:
        """Return the topic with this id (KeyError if there is none)."""
        try:
            return self._topics[topic_id]
        except KeyError:
            raise KeyError(f"unknown topic id {topic_id!r}") from None

    def _lookup(self, question_id: str) -> tuple[QuestionSet, Step, Question]:
        try:
            return self._questions[question_id]
        except KeyError:
            raise KeyError(f"unknown question id {question_id!r}") from None


def pick_variant(step: Step, used_question_ids: Collection[str]) -> Question:
    """Pick the first current variant not used before; when all were, the one used longest ago.

    `used_question_ids` is the student's history, oldest first; ids of other steps are
    ignored, and repeats are fine.
    """
    last_used: dict[str, int] = {}
    for position, question_id in enumerate(used_question_ids):
        last_used[question_id] = position
    pool = step.current
    for question in pool:
        if question.id not in last_used:
            return question
    return min(pool, key=lambda question: last_used[question.id])


# ---------------------------------------------------------------------------- loading


def load_prompts(
    directory: Path | None = None,
    schedule_file: Path | None = None,
    overrides: Path | None = None,
) -> PromptBook:
    """Load and check prompts/: every *.yaml question set, topics, schedule and safety.

    `overrides` (FURIKAERI_PROMPTS_DIR) is a folder whose *.yaml files replace the shipped
    files of the same name (or add a question set); `schedule_file` replaces the schedule.
    """
    directory = Path(directory) if directory is not None else data_dir("prompts")
    files = prompt_files(directory, overrides)
    if schedule_file:
        files[SCHEDULE_FILE] = Path(schedule_file)
    for name in (TOPICS_FILE, SCHEDULE_FILE, SAFETY_FILE):
        files.setdefault(name, directory / name)

    sets = _load_sets(directory, files)
    topics = _load_topics(files[TOPICS_FILE])
    schedule = _load_schedule(files[SCHEDULE_FILE], known_sets=sets)
    safety = _load_safety(files[SAFETY_FILE])
    book = PromptBook(sets=sets, topics=topics, schedule=schedule, safety=safety)
    if overrides is not None:
        _check_translated(book, files, shipped=directory)
    return book


def prompt_files(directory: Path, overrides: Path | None) -> dict[str, Path]:
    """Each prompts file by name: the shipped one, unless the override folder has one."""
    if not directory.is_dir():
        raise PromptError(_show(directory), "", "directory not found")
    files = {path.name: path for path in sorted(directory.glob("*.yaml"))}
    if overrides is not None:
        if not Path(overrides).is_dir():
            raise PromptError(_show(Path(overrides)), "", "directory not found")
        files.update((path.name, path) for path in sorted(Path(overrides).glob("*.yaml")))
    return files


def _load_sets(directory: Path, files: Mapping[str, Path]) -> dict[str, QuestionSet]:
    sets: dict[str, QuestionSet] = {}
    question_files: dict[str, str] = {}
    for name, path in sorted(files.items()):
        if name in RESERVED_FILES:
            continue
        question_set = _parse(QuestionSet, path)
        _check_set(question_set, path)
        for field, question in _questions_with_paths(question_set):
            if question.id in question_files:
                raise PromptError(
                    _show(path),
                    f"{field}.id",
                    f"question id {question.id!r} is already used in {question_files[question.id]}",
                )
            question_files[question.id] = _show(path)
        sets[question_set.id] = question_set
    if REFLECTION_SET not in sets:
        raise PromptError(
            _show(directory / f"{REFLECTION_SET}.yaml"),
            "",
            "file not found: the post-session reflection set is required",
        )
    return sets


def _check_set(question_set: QuestionSet, path: Path) -> None:
    file = _show(path)
    if question_set.id != path.stem:
        raise PromptError(file, "id", f"must equal the file name {path.stem!r}")
    _check_dated(file, "intro", question_set.intro, "intro_later", question_set.intro_later)
    _check_later(file, "journal", question_set.journal)
    _check_digest_label(file, "label", question_set.label)
    step_ids: set[str] = set()
    for step_index, step in enumerate(question_set.steps):
        where = f"steps.{step_index}"
        if not _SLUG.fullmatch(step.id):
            raise PromptError(file, f"{where}.id", "use lower-case letters, digits and _")
        if step.id in step_ids:
            raise PromptError(file, f"{where}.id", f"step id {step.id!r} appears twice")
        step_ids.add(step.id)
        _check_digest_label(file, f"{where}.label", step.label)
        if step.flag is not None:
            if step.kind != QuestionKind.YESNO:
                raise PromptError(file, f"{where}.flag", "only a yesno step can raise a flag")
            if not _FLAG.fullmatch(step.flag):
                raise PromptError(file, f"{where}.flag", "use lower-case letters, digits and _")
        if step.only_if_answered is not None and step.only_if_answered not in step_ids - {step.id}:
            raise PromptError(
                file, f"{where}.only_if_answered", "must name an earlier step of this set"
            )
        if not step.current:
            raise PromptError(file, f"{where}.pool", "every variant is retired; keep one to ask")
        prefix = f"{question_set.id}.{step.id}."
        pool_ids: set[str] = set()
        for question_index, question in enumerate(step.pool):
            at = f"{where}.pool.{question_index}"
            slug = question.id.removeprefix(prefix)
            if slug == question.id or not _SLUG.fullmatch(slug):
                raise PromptError(
                    file, f"{at}.id", f"must look like {prefix}<slug> (lower-case, digits, _)"
                )
            if len(question.id) > MAX_QUESTION_ID:
                raise PromptError(file, f"{at}.id", f"longer than {MAX_QUESTION_ID} characters")
            if question.id in pool_ids:
                raise PromptError(file, f"{at}.id", f"{question.id!r} appears twice")
            _check_digest_label(file, f"{at}.label", question.label)
            pool_ids.add(question.id)
            if not question.retired:
                _check_dated(file, f"{at}.text", question.text, f"{at}.later", question.later)
            elif question.later is not None:
                _check_later(file, f"{at}.later", question.later)
            for answer in ("answer_yes", "answer_no"):
                value = getattr(question, answer)
                if step.kind == "yesno" and value is None and not question.retired:
                    raise PromptError(file, f"{at}.{answer}", "required for a yesno question")
                if step.kind != "yesno" and value is not None:
                    raise PromptError(file, f"{at}.{answer}", "only a yesno question has answers")
                if value is not None and len(value) > MAX_BUTTON_LABEL:
                    raise PromptError(
                        file, f"{at}.{answer}", f"longer than {MAX_BUTTON_LABEL} characters"
                    )
            for label in ("low", "high"):
                value = getattr(question, label)
                if step.kind == QuestionKind.SCALE and value is None:
                    raise PromptError(file, f"{at}.{label}", "required for a scale question")
                if step.kind != QuestionKind.SCALE and value is not None:
                    raise PromptError(file, f"{at}.{label}", "only a scale question has labels")
                if value is not None and len(value) > MAX_SCALE_LABEL:
                    raise PromptError(
                        file, f"{at}.{label}", f"longer than {MAX_SCALE_LABEL} characters"
                    )


def _check_dated(file: str, field: str, text: str, later_field: str, later: str | None) -> None:
    """A text that says "today" needs a form for later days, with the session's {date}."""
    if later is None:
        if _TODAY.search(text):
            raise PromptError(
                file,
                later_field,
                'required: the text says "today"; give the form for a later day with {date}',
            )
        return
    _check_later(file, later_field, later)


def _check_later(file: str, field: str, text: str) -> None:
    """A text read on a later day: names the session's {date}, never "today"."""
    found = set(_PLACEHOLDERS.findall(text))
    if found - {DATE_PLACEHOLDER}:
        raise PromptError(file, field, "the only placeholder allowed here is {date}")
    if DATE_PLACEHOLDER not in found:
        raise PromptError(file, field, "must contain {date} (the session's date)")
    if _TODAY.search(text):
        raise PromptError(file, field, 'must not say "today": it is read on a later day')


def _check_digest_label(file: str, field: str, label: str | None) -> None:
    if label is not None and len(label) > MAX_DIGEST_LABEL:
        raise PromptError(file, field, f"longer than {MAX_DIGEST_LABEL} characters")


def _questions_with_paths(question_set: QuestionSet) -> Iterable[tuple[str, Question]]:
    for step_index, step in enumerate(question_set.steps):
        for question_index, question in enumerate(step.pool):
            yield f"steps.{step_index}.pool.{question_index}", question


def _load_topics(path: Path) -> list[Topic]:
    topics = _parse(_TopicsFile, path).topics
    file = _show(path)
    seen: set[str] = set()
    for index, topic in enumerate(topics):
        if not _TOPIC_ID.fullmatch(topic.id):
            raise PromptError(
                file, f"topics.{index}.id", "use 1 to 16 lower-case ascii letters and _"
            )
        if topic.id in seen:
            raise PromptError(file, f"topics.{index}.id", f"topic id {topic.id!r} appears twice")
        seen.add(topic.id)
        if len(topic.label) > MAX_TOPIC_LABEL:
            raise PromptError(
                file,
                f"topics.{index}.label",
                f"{len(topic.label)} characters; a button label holds {MAX_TOPIC_LABEL}",
            )
    return topics


def _load_schedule(path: Path, *, known_sets: Mapping[str, QuestionSet]) -> Schedule:
    raw = _parse(_ScheduleFile, path)
    file = _show(path)
    for field, value in (
        ("reflection_delay", raw.reflection_delay),
        ("reminder_after", raw.reminder_after),
    ):
        if value is not None and value < timedelta(0):
            raise PromptError(file, field, "must not be negative")
    if raw.expire_after <= timedelta(0):
        raise PromptError(file, "expire_after", "must be longer than zero")
    if raw.reminder_after is not None and raw.reminder_after >= raw.expire_after:
        raise PromptError(file, "reminder_after", "must be shorter than expire_after")
    if raw.send_window is not None and raw.send_window.start == raw.send_window.end:
        raise PromptError(
            file, "send_window", "start and end are equal; use `send_window: null` to switch it off"
        )
    followups: list[Followup] = []
    for index, entry in enumerate(raw.followups):
        if entry.set not in known_sets:
            known = ", ".join(sorted(known_sets))
            raise PromptError(
                file,
                f"followups.{index}.set",
                f"unknown question set {entry.set!r} (known: {known})",
            )
        if entry.after < timedelta(0):
            raise PromptError(file, f"followups.{index}.after", "must not be negative")
        followups.append(Followup(entry.set, entry.after))
    return Schedule(
        reflection_delay=raw.reflection_delay,
        followups=followups,
        send_window=raw.send_window,
        reminder_after=raw.reminder_after,
        expire_after=raw.expire_after,
        digest_push=raw.digest_push,
    )


def _load_safety(path: Path) -> Safety:
    file = _show(path)
    raw = _read_yaml(path)
    for section in ("phrases", "exceptions"):
        for locale, entries in (raw.get(section) or {}).items():
            for index, phrase in enumerate(entries if isinstance(entries, list) else []):
                if not isinstance(phrase, str):
                    continue  # the model below names the wrong type
                try:
                    compile_phrase(phrase)
                except PhraseError as error:
                    raise PromptError(file, f"{section}.{locale}.{index}", str(error)) from None
    safety = _parse(Safety, path, raw)
    seen: set[str] = set()
    for index, contact in enumerate(safety.contacts):
        if not _SLUG.fullmatch(contact.id):
            raise PromptError(file, f"contacts.{index}.id", "use lower-case letters, digits and _")
        if contact.id in seen:
            raise PromptError(file, f"contacts.{index}.id", f"{contact.id!r} appears twice")
        seen.add(contact.id)
        if not contact.source.startswith(("https://", "http://")):
            raise PromptError(
                file, f"contacts.{index}.source", "the URL of the page this contact was checked on"
            )
        for field in ("name", "hours", "note"):
            if not contact.local and isinstance(getattr(contact, field), dict):
                raise PromptError(
                    file,
                    f"contacts.{index}.{field}",
                    "text per language is for a deployment's own contact: add `local: true`",
                )
    return safety


def _check_translated(book: PromptBook, files: Mapping[str, Path], *, shipped: Path) -> None:
    """Text in an override file is shown through the catalogs: refuse wording they lack,
    at start, rather than send it untranslated (a `local: true` contact is shown as written)."""
    readers = [translator(locale) for locale in SHIPPED_LOCALES]
    for name, field, message in _messages(book):
        path = files[name]
        if path.parent == shipped:
            continue  # shipped wording: the catalogs are checked by the tests
        missing = [t.locale for t in readers if not t.knows(message)]
        if missing:
            hint = (
                "; or mark the contact `local: true` to show it as written"
                if name == SAFETY_FILE
                else ""
            )
            raise PromptError(
                _show(path),
                field,
                f"{message[:40]!r} has no translation in the catalogs ({', '.join(missing)}):"
                f" new wording needs translations in locales/ (docs/translating.md){hint}",
            )


def _messages(book: PromptBook) -> Iterable[tuple[str, str, str]]:
    """(file name, field, msgid) of every string a reader sees through the catalogs."""
    for question_set in book.sets.values():
        name = f"{question_set.id}.yaml"
        yield name, "intro", question_set.intro
        yield name, "outro", question_set.outro
        for field, question in _questions_with_paths(question_set):
            for key in ("text", "low", "high"):
                value = getattr(question, key)
                if value is not None:
                    yield name, f"{field}.{key}", value
    for index, topic in enumerate(book.topics):
        yield TOPICS_FILE, f"topics.{index}.label", topic.label
        yield TOPICS_FILE, f"topics.{index}.name", topic.name
    for index, contact in enumerate(book.safety.contacts):
        for key in ("name", "hours", "note"):
            value = getattr(contact, key)
            if not contact.local and isinstance(value, str):
                yield SAFETY_FILE, f"contacts.{index}.{key}", value


# ---------------------------------------------------------------------------- helpers


def _parse(model: type[_M], path: Path, raw: Any = None) -> _M:
    raw = _read_yaml(path) if raw is None else raw
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        more = len(error.errors()) - 1
        problem = _problem(first) + (f" (and {more} more)" if more else "")
        raise PromptError(_show(path), field, problem) from None


def _problem(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("literal_error", "enum"):
        return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"
    message: str = error["msg"]
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(_show(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PromptError(_show(path), "", f"cannot read: {error}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise PromptError(_show(path), "", f"not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise PromptError(_show(path), "", "expected a mapping of keys at the top level")
    return raw


def _show(path: Path) -> str:
    """Name a file for an error message: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
