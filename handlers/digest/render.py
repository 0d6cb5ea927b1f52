"""Render a Digest: a short overview for chat, one student's detail (paged), the whole
digest as text (CLI, a file), CSV (Excel-friendly, formulas neutralised) or JSON."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_skeleton

from bot.i18n import N_, Translator
from bot.text import split_text
from handlers.digest.build import ALERT_FLAGS, Digest, DigestAnswer, DigestRun, DigestStudent

FLAG_LABELS = {
    "urgent": N_("URGENT: may be in danger"),
    "wants_to_talk": N_("wants to talk"),
    "unanswered": N_("left questions unanswered"),
    "paused": N_("paused"),
    "stopped": N_("stopped"),
    "unreachable": N_("unreachable (blocked the bot)"),
    "no_consent": N_("no consent"),
}
STATUS_LABELS = {
    "invited": N_("waiting for consent"),
    "declined": N_("declined"),
    "withdrawn": N_("withdrew consent"),
    "unreachable": N_("unreachable (blocked the bot)"),
    "stopped": N_("stopped"),
    "crisis_paused": N_("paused after an urgent message"),
    "paused": N_("paused"),
    "active": N_("active"),
}
OVERVIEW_MESSAGES = 3
CHAT_MESSAGE = 3500  # characters: under Telegram's 4096 and LINE's 5000
OVERVIEW_NEXT_STEP = 60  # characters of the next step quoted in an overview line


@lru_cache(maxsize=4096)
def day(on: date, locale: str) -> str:
    """A short date in the reader's language ("May 12", "5月12日"); cached per day."""
    return format_skeleton("MMMd", on, locale=locale)


def status_text(t: Translator, student: DigestStudent) -> str:
    if student.status == "paused" and student.paused_until is not None:
        return t._("paused until {date}", date=day(student.paused_until.date(), t.locale))
    return t._(STATUS_LABELS[student.status])


def flags_text(t: Translator, flags: list[str]) -> str:
    return t.join([t._(FLAG_LABELS[f]) for f in flags])


def summary_line(t: Translator, student: DigestStudent, *, short: bool = False) -> str:
    """One line: who, flags, sets answered of those asked, the next step they wrote."""
    marker = "⚑ " if any(f in ALERT_FLAGS for f in student.flags) else "• "
    parts = [f"{marker}{student.name} (#{student.id})"]
    if student.flags:
        parts.append(flags_text(t, student.flags))
    if student.sets_asked:
        parts.append(
            t._(
                "{answered}/{asked} sets answered",
                answered=student.sets_answered,
                asked=student.sets_asked,
            )
        )
    if student.next_step:
        step = " ".join(student.next_step.split())
        if short and len(step) > OVERVIEW_NEXT_STEP:
            step = step[: OVERVIEW_NEXT_STEP - 1] + "…"
        parts.append(t._("next step: {text}", text=step))
    return " · ".join(parts)


def header(t: Translator, digest: Digest) -> list[str]:
    when = (
        t._("Everything so far")
        if digest.everything
        else t._("Since {date}", date=t.datetime(digest.since, digest.timezone, "short"))
    )
    return [t._("Digest for {name}", name=digest.counselor_name), when]


def render_overview(
    digest: Digest,
    t: Translator,
    *,
    max_messages: int = OVERVIEW_MESSAGES,
    max_len: int = CHAT_MESSAGE,
) -> list[str]:
    """At most `max_messages` messages: students with flags first, one line each; what
    does not fit is counted at the end, never cut off silently."""
    head = header(t, digest)
    if not digest.students:
        return ["\n".join([*head, t._("Nothing new since then.")])]
    head.append(
        t.ngettext(
            "{n} student with something new:",
            "{n} students with something new:",
            len(digest.students),
        )
    )
    footer = t._("Open one student with /digest NAME or a button below.")
    lines = [summary_line(t, s, short=True)[: max_len // 4] for s in digest.students]
    messages: list[list[str]] = [head]
    size = len("\n".join(head))
    shown = 0
    reserve = len(footer) + 200  # the footer, and the "…and N more" line if needed
    for line in lines:
        last_message = len(messages) == max_messages
        room = max_len - (reserve if last_message else 0)
        if size + 1 + len(line) > room:
            if last_message:
                break
            messages.append([])
            size = 0
        messages[-1].append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(lines):
        messages[-1].append(
            t.ngettext(
                "…and {n} more student. /students lists everyone.",
                "…and {n} more students. /students lists everyone.",
                len(lines) - shown,
            )
        )
    messages[-1].append(footer)
    return ["\n".join(m) for m in messages]


def render_student(digest: Digest, student: DigestStudent, t: Translator) -> str:
    """One student's detail: summary line, sessions, answers grouped by set under short
    labels, what was left unanswered, and 1–5 trends in plain words."""
    locale = t.locale
    lines = [summary_line(t, student), t._("Status: {status}", status=status_text(t, student))]
    for session in student.sessions:
        topics = t.join(session.topics) or t._("no topics")
        lines.append(
            t._("Session {date}: {topics}", date=day(session.local.date(), locale), topics=topics)
        )
    for run in student.runs:
        lines.append("")
        lines.extend(_run_lines(run, t))
    for trend in student.trends:
        lines.append(
            t._(
                "{label}: {values} since {date}",
                label=trend.label,
                values=" → ".join(str(v) for v in trend.values),
                date=day(trend.since.date(), locale),
            )
        )
    return "\n".join(lines)


def _run_lines(run: DigestRun, t: Translator) -> list[str]:
    locale = t.locale
    first = run.answers[0].local if run.answers else None
    title = f"▸ {run.title}" + (f" · {day(first.date(), locale)}" if first else "")
    lines = [title]
    shown_day, shown_minute = (first.date() if first else None), ""
    skipped: list[str] = []
    for answer in run.answers:
        if answer.skipped:
            skipped.append(answer.label)
            continue
        local = answer.local
        minute = f"{local:%H:%M}"
        stamp = ""
        if local.date() != shown_day:
            stamp = f"{day(local.date(), locale)} {minute} "
            shown_day, shown_minute = local.date(), minute
        elif minute != shown_minute:
            stamp, shown_minute = f"{minute} ", minute
        marker = "⚠ " if answer.urgent else ""
        edited = " " + t._("(edited)") if answer.edited else ""
        lines.append(f"{marker}{stamp}{answer.label}: {answer.answer}{edited}")
        if note := translation_line(answer, t):
            lines.append(f"  ↳ {note}")
    if skipped:
        lines.append(t._("Skipped: {questions}", questions=t.join(skipped)))
    if run.unanswered:
        lines.append(t._("Not answered: {questions}", questions=t.join(run.unanswered)))
    return lines


def translation_line(answer: DigestAnswer, t: Translator) -> str:
    """The machine translation under the original (or why there is none); "" if not needed."""
    provider = answer.translation_provider or ""
    if answer.translation_status == "done" and answer.translation:
        return (
            t._("Machine translation ({provider}):", provider=provider) + " " + answer.translation
        )
    if answer.translation_status == "unsupported":
        return t._(
            "(no machine translation: {provider} does not offer this language)", provider=provider
        )
    if answer.translation_status == "failed":
        return t._("(machine translation failed)")
    if answer.translation_status == "pending":
        return t._("(machine translation not ready yet; /digest 7d shows it later)")
    return ""


def render_student_pages(
    digest: Digest, student: DigestStudent, t: Translator, *, max_len: int = CHAT_MESSAGE
) -> list[str]:
    """The detail cut into pages between lines; each page says which one it is."""
    text = render_student(digest, student, t)
    if not student.runs and not student.sessions and not student.trends:
        text += "\n" + t._("Nothing new in this period.")
    return split_text(text, max_len - 40)


def render_text(digest: Digest, t: Translator, *, max_len: int = 4000) -> list[str]:
    """The whole digest as messages (or one file) of at most `max_len` characters."""
    lines = header(t, digest)
    if not digest.students:
        lines.append(t._("Nothing new since then."))
    for student in digest.students:
        lines.append("")
        lines.append(render_student(digest, student, t))
    return split_text("\n".join(lines), max_len)


# -- files ----------------------------------------------------------------------------

CSV_COLUMNS = [
    "student_id",
    "student",
    "flags",
    "kind",
    "date",
    "time",
    "set",
    "question_id",
    "question",
    "answer",
    "scale",
    "skipped",
    "urgent",
    "edited",
    "translation",
    "translation_status",
    "translation_provider",
]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def render_csv(digest: Digest) -> str:
    """One row per session, answer and question left open; UTF-8 with a BOM so Excel shows
    Japanese; every text cell, the machine translation's too, is safe from formula
    injection (=, +, -, @, tab, CR)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)

    def row(*cells: Any) -> None:
        padded = [*cells, *[""] * (len(CSV_COLUMNS) - len(cells))]  # every row as wide
        writer.writerow([neutralise(c) for c in padded])

    for s in digest.students:
        flags = " ".join(s.flags)
        for session in s.sessions:
            local = session.local
            topics = "; ".join(session.topics)
            day_, time_ = f"{local:%Y-%m-%d}", f"{local:%H:%M}"
            row(s.id, s.name, flags, "session", day_, time_, "", "", "", topics)
        for run in s.runs:
            for a in run.answers:
                local = a.local
                row(
                    s.id,
                    s.name,
                    flags,
                    "answer",
                    f"{local:%Y-%m-%d}",
                    f"{local:%H:%M}",
                    run.set_id,
                    a.question_id,
                    a.label,
                    a.answer,
                    "" if a.scale is None else a.scale,
                    int(a.skipped),
                    int(a.urgent),
                    int(a.edited),
                    a.translation or "",
                    a.translation_status or "",
                    a.translation_provider or "",
                )
            for label in run.unanswered:
                row(s.id, s.name, flags, "unanswered", "", "", run.set_id, "", label)
        if not s.sessions and not s.runs:
            row(s.id, s.name, flags, "status", "", "", "", "", s.status)
    return "\ufeff" + out.getvalue()


def render_json(digest: Digest) -> str:
    """Everything as JSON; the students' text exactly as written."""
    return json.dumps(_plain(dataclasses.asdict(digest)), ensure_ascii=False, indent=2)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
