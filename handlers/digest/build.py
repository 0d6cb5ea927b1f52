"""The counselor's digest, built as data; render.py turns it into text, CSV, JSON.

Fast by construction: six reads for the whole counselor (bot/db/repo_digest.py: students,
answers, their machine translations, question sets, sessions, 1-5 answers), rows grouped
once by student and by question set, one time zone object, and each question's label and
each topic's name translated once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.db.models import Counselor, Student
from bot.db.repo_digest import AnswerRow, RunRow, ScaleRow, TranslationRow
from bot.db.states import Consent, RunState, StudentStatus
from bot.engine.context import Context
from bot.i18n import Translator
from bot.prompts import PromptBook
from handlers.alerts import WANTS_TO_TALK

FLAGS = ("urgent", "wants_to_talk", "unanswered", "paused", "stopped", "unreachable", "no_consent")
ALERT_FLAGS = ("urgent", "wants_to_talk")  # students with these come first
NEXT_STEP = "next_step"
TREND_POINTS = 6
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class DigestAnswer:
    """One answer, as the counselor reads it; `translation` is a machine translation into
    the counselor's language, shown under the original when a translator is configured."""

    at: datetime  # UTC
    local: datetime  # in the counselor's time zone
    question_id: str
    label: str  # the question's short name, in the counselor's language
    answer: str  # as the student wrote it ("" when skipped); choices and scales rendered
    scale: int | None = None
    skipped: bool = False
    urgent: bool = False
    edited: bool = False
    translation: str | None = None
    # None (none needed) | pending | done | same | unsupported | failed
    translation_status: str | None = None
    translation_provider: str | None = None
    answer_id: int = 0  # the stored answer (translations are kept per answer)


@dataclass(slots=True)
class DigestRun:
    """One question set sent to the student, with the answers given in the window."""

    set_id: str
    title: str  # the set's short name, in the counselor's language
    state: str  # active|done|expired|cancelled
    answers: list[DigestAnswer] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # labels of questions left open


@dataclass(slots=True)
class DigestSession:
    held_at: datetime
    local: datetime
    topics: list[str]  # topic names in the counselor's language


@dataclass(slots=True)
class DigestTrend:
    """1–5 answers to one and the same question, oldest first."""

    question_id: str
    label: str
    values: list[int]
    since: datetime  # local time of the first value shown


@dataclass
class DigestStudent:
    id: int
    name: str
    locale: str
    status: str  # invited|declined|withdrawn|unreachable|stopped|crisis_paused|paused|active
    paused_until: datetime | None = None
    flags: list[str] = field(default_factory=list)
    sessions: list[DigestSession] = field(default_factory=list)
    runs: list[DigestRun] = field(default_factory=list)
    trends: list[DigestTrend] = field(default_factory=list)
    sets_asked: int = 0
    sets_answered: int = 0
    next_step: str | None = None
    answer_count: int = 0

    @property
    def news(self) -> bool:
        """Something to read: a session, an answer, an alert or questions left open (a
        status alone, like paused, was told once and does not come back every time)."""
        return bool(
            self.sessions
            or self.answer_count
            or any(f in (*ALERT_FLAGS, "unanswered") for f in self.flags)
        )


@dataclass
class Digest:
    counselor_id: int
    counselor_name: str
    locale: str
    timezone: str
    since: datetime
    until: datetime
    students: list[DigestStudent]
    everything: bool = False  # no earlier digest and no window asked for: all there is


_RELATIVE = re.compile(r"^(\d{1,4})([dhw])$")


def parse_since(raw: str, *, now: datetime) -> datetime | None:
    """ "7d", "12h", "2w" or an ISO date/datetime (UTC unless it says otherwise)."""
    raw = raw.strip().lower()
    if match := _RELATIVE.match(raw):
        amount, unit = int(match.group(1)), match.group(2)
        step = {"d": timedelta(days=1), "h": timedelta(hours=1), "w": timedelta(weeks=1)}[unit]
        return now - amount * step
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def status_of(student: Student, now: datetime) -> str:
    """Where a student stands, as one key (render.py names it)."""
    if student.consent == Consent.PENDING:
        return "invited"
    if student.consent in (Consent.DECLINED, Consent.WITHDRAWN):
        return str(student.consent)
    if not student.reachable:
        return "unreachable"
    if student.status == StudentStatus.STOPPED:
        return "stopped"
    if student.pause_reason is not None:
        return "crisis_paused"  # held after a message that suggested danger, until /resume
    if student.is_paused(now):
        return "paused"
    return "active"


async def build_digest(
    ctx: Context,
    counselor: Counselor,
    *,
    since: datetime | None,
    student_id: int | None = None,
    everyone: bool = False,
) -> Digest:
    """What this counselor's students did after `since` (default: the last digest).

    `student_id` narrows it to one student; `everyone` keeps students with nothing new
    (the student list wants them all)."""
    start = since or counselor.last_digest_at or BEGINNING
    reads = ctx.uow.digest
    students = await ctx.uow.students.list_for_counselor(counselor.id)
    if student_id is not None:
        students = [s for s in students if s.id == student_id]
    answers = await reads.answers(counselor.id, start, student_id=student_id)
    translated = await reads.translations(
        counselor.id, start, counselor.locale, student_id=student_id
    )
    runs = await reads.runs(counselor.id, start, student_id=student_id)
    sessions = await reads.sessions(counselor.id, start, student_id=student_id)
    scales = await reads.scales(counselor.id, student_id=student_id)

    book = _Book(ctx.prompts, ctx.tr(counselor.locale), ZoneInfo(counselor.timezone))
    entries = {
        s.id: DigestStudent(
            id=s.id,
            name=s.label or f"#{s.id}",
            locale=s.locale,
            status=status_of(s, ctx.now),
            paused_until=s.paused_until,
        )
        for s in students
    }
    for session in sessions:
        if entry := entries.get(session.student_id):
            entry.sessions.append(
                DigestSession(
                    session.held_at,
                    session.held_at.astimezone(book.zone),
                    [book.topic_name(tid) for tid in session.topics],
                )
            )
    groups = _group_runs(book, entries, runs)
    _place_answers(book, entries, groups, answers, translated)
    _trends(book, entries, scales, start)
    for student in students:
        entry = entries[student.id]
        entry.runs = [run for run in entry.runs if run.answers or run.unanswered]
        if _in_crisis(student, start) and "urgent" not in entry.flags:
            entry.flags.append("urgent")
        entry.flags = _flags(entry)
    shown = [e for e in entries.values() if everyone or e.news]
    shown.sort(key=lambda e: (-sum(f in ALERT_FLAGS for f in e.flags), not e.flags, e.id))
    return Digest(
        counselor_id=counselor.id,
        counselor_name=counselor.name,
        locale=counselor.locale,
        timezone=counselor.timezone,
        since=start,
        until=ctx.now,
        students=shown,
        everything=start <= BEGINNING,
    )


class _Book:
    """Question and topic lookups in the counselor's language, each translated once."""

    def __init__(self, prompts: PromptBook, t: Translator, zone: ZoneInfo) -> None:
        self.prompts, self.t, self.zone = prompts, t, zone
        self.questions_seen: dict[str, tuple[str, str, str | None, str]] = {}
        self._topics: dict[str, str] = {}
        self._sets: dict[str, str] = {}
        self.yes, self.no = t._("Yes"), t._("No")

    def question(self, question_id: str) -> tuple[str, str, str | None, str]:
        """(label, set id, flag, step id) of a question; a retired id shows as itself."""
        found = self.questions_seen.get(question_id)
        if found is None:  # once per question id
            try:
                label = self.prompts.digest_label(question_id)
                step = self.prompts.step_of(question_id)
                set_id = self.prompts.set_of(question_id).id
                found = (self.t._(label), set_id, step.flag, step.id)
            except KeyError:
                found = (question_id, question_id.split(".", 1)[0], None, "")
            self.questions_seen[question_id] = found
        return found

    def set_title(self, set_id: str) -> str:
        title = self._sets.get(set_id)
        if title is None:
            question_set = self.prompts.sets.get(set_id)
            label = question_set.label if question_set is not None else None
            title = self._sets[set_id] = self.t._(label) if label else set_id
        return title

    def topic_name(self, topic_id: str) -> str:
        name = self._topics.get(topic_id)
        if name is None:
            try:
                name = self.t._(self.prompts.topic(topic_id).name)
            except KeyError:
                name = topic_id
            self._topics[topic_id] = name
        return name

    def topic_label(self, topic_id: str) -> str:
        try:
            return self.t._(self.prompts.topic(topic_id).label)
        except KeyError:
            return topic_id

    def shown(self, text: str | None, choice: str | None, scale: int | None) -> str:
        """The answer as the counselor reads it: the text as written, else the choice (a
        yes/no as a plain Yes or No: the button's own words are the student's)."""
        if text:
            return text
        if scale is not None:
            return f"{scale}/5"
        if choice == "yes":
            return self.yes
        if choice == "no":
            return self.no
        if choice:
            return self.topic_label(choice)
        return ""


def _group_runs(
    book: _Book, entries: dict[int, DigestStudent], runs: list[RunRow]
) -> dict[int, tuple[DigestStudent, DigestRun]]:
    groups: dict[int, tuple[DigestStudent, DigestRun]] = {}
    for run in runs:
        entry = entries.get(run.student_id)
        if entry is None:
            continue
        group = DigestRun(run.set_id, book.set_title(run.set_id), run.state)
        # Only expired and cancelled runs carry their questions (repo_digest.py).
        if run.questions:  # expired or cancelled: what was left open
            group.unanswered = [book.question(qid)[0] for qid in run.questions[run.step :]]
        groups[run.id] = (entry, group)
        entry.runs.append(group)
        entry.sets_asked += run.asked_at is not None
    return groups


def _place_answers(
    book: _Book,
    entries: dict[int, DigestStudent],
    groups: dict[int, tuple[DigestStudent, DigestRun]],
    answers: list[AnswerRow],
    translated: list[TranslationRow],
) -> None:
    zone = book.zone
    translations = {row.answer_id: row for row in translated}
    answered_runs: set[int] = set()
    talk: dict[int, str | None] = {}
    known, questions = book.questions_seen, book.question
    # The hot loop of the digest (one pass over every answer): plain locals, no lookups
    # that could be done once.
    for (
        answer_id,
        run_id,
        student_id,
        question_id,
        text,
        choice,
        scale,
        skipped,
        urgent,
        edited,
        at,
    ) in answers:
        entry = entries.get(student_id)
        if entry is None:
            continue
        label, set_id, flag, step_id = known.get(question_id) or questions(question_id)
        found = groups.get(run_id)
        if found is None:  # a set opened before the window and closed since: keep the answer
            closed = DigestRun(set_id, book.set_title(set_id), RunState.DONE)
            found = groups[run_id] = (entry, closed)
            entry.runs.append(found[1])
        if skipped:
            shown = ""
        elif not text:
            shown = book.shown(text, choice, scale)
        else:
            shown = text
        digest_answer = DigestAnswer(
            at,
            at.astimezone(zone),
            question_id,
            label,
            shown,
            scale,
            skipped,
            urgent,
            edited,
            answer_id=answer_id,
        )
        if tr := translations.get(answer_id):
            digest_answer.translation = tr.text if tr.status == "done" else None
            digest_answer.translation_status = tr.status
            digest_answer.translation_provider = tr.provider or None
        found[1].answers.append(digest_answer)
        entry.answer_count += 1
        if urgent and "urgent" not in entry.flags:
            entry.flags.append("urgent")
        if not skipped:
            answered_runs.add(run_id)
            if step_id == NEXT_STEP:
                entry.next_step = shown
            if flag == WANTS_TO_TALK:
                talk[student_id] = choice
    for student_id, choice in talk.items():
        if choice == "yes":  # the latest answer counts: a later "no" lowers the flag
            entries[student_id].flags.append("wants_to_talk")
    for run_id in answered_runs:
        groups[run_id][0].sets_answered += 1


def _trends(
    book: _Book, entries: dict[int, DigestStudent], scales: list[ScaleRow], start: datetime
) -> None:
    """A trend per question answered on a 1–5 scale at least twice, the latest time in the
    window: only answers to the very same question are compared."""
    # Every 1–5 answer passes here: rows unpacked by position (faster than by name).
    series: dict[tuple[int, str], list[tuple[int, datetime]]] = defaultdict(list)
    for student_id, question_id, scale, created_at in scales:
        series[(student_id, question_id)].append((scale, created_at))
    for (student_id, question_id), points in series.items():
        entry = entries.get(student_id)
        if entry is None or len(points) < 2 or points[-1][1] <= start:
            continue
        shown = points[-TREND_POINTS:]
        entry.trends.append(
            DigestTrend(
                question_id,
                book.question(question_id)[0],
                [scale for scale, _ in shown],
                shown[0][1].astimezone(book.zone),
            )
        )


def _in_crisis(student: Student, since: datetime) -> bool:
    """A message suggesting danger in the period (kept or not), or questions still held
    after one: the digest flags it urgent."""
    recent = student.crisis_at is not None and student.crisis_at > since
    return recent or student.pause_reason is not None


def _flags(entry: DigestStudent) -> list[str]:
    flags = [f for f in ALERT_FLAGS if f in entry.flags]
    if any(run.unanswered for run in entry.runs):
        flags.append("unanswered")
    status_flag = {
        "crisis_paused": "paused",
        "paused": "paused",
        "stopped": "stopped",
        "unreachable": "unreachable",
        "invited": "no_consent",
        "declined": "no_consent",
        "withdrawn": "no_consent",
    }.get(entry.status)
    if status_flag:
        flags.append(status_flag)
    return flags
