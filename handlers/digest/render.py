"""Render a Digest as chat text (chunked), CSV (Excel-friendly) or JSON."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

from bot.i18n import N_, Translator
from bot.text import split_text
from handlers.digest.build import Digest

FLAG_LABELS = {
    "urgent": N_("URGENT: may be in danger"),
    "wants_to_talk": N_("wants to talk"),
    "unanswered": N_("left questions unanswered"),
    "paused": N_("paused"),
    "stopped": N_("stopped"),
    "unreachable": N_("unreachable (blocked the bot)"),
    "no_consent": N_("no consent"),
}


def render_text(digest: Digest, t: Translator, *, max_len: int = 4000) -> list[str]:
    """The digest as messages of at most `max_len` characters, split between lines."""
    lines = [
        t._("Digest for {name}", name=digest.counselor_name),
        t._("Everything so far")
        if digest.everything
        else t._("Since {date}", date=t.datetime(digest.since, digest.timezone)),
    ]
    if not digest.students:
        lines.append(t._("Nothing new since then."))
    for student in digest.students:
        lines.append("")
        lines.append(f"■ {student.name}")
        if student.flags:
            lines.append("⚑ " + ", ".join(t._(FLAG_LABELS[f]) for f in student.flags))
        for session in student.sessions:
            topics = ", ".join(session.topics) or t._("no topics")
            lines.append(t._("Session {date}: {topics}", date=session.local_time, topics=topics))
        for answer in student.answers:
            marker = "⚠ " if answer.urgent else ""
            shown = t._("(skipped)") if answer.skipped else answer.answer
            edited = " " + t._("(edited)") if answer.edited else ""
            lines.append(f"{marker}{answer.local_time} – {answer.question}")
            lines.append(f"  → {shown}{edited}")
        if student.unanswered:
            lines.append(
                t.ngettext(
                    "{n} question set expired unanswered",
                    "{n} question sets expired unanswered",
                    student.unanswered,
                )
            )
        for step, values in student.trends.items():
            if len(values) > 1:
                lines.append(
                    t._(
                        "Trend {step}: {values}",
                        step=step,
                        values=" → ".join(str(v) for v in values),
                    )
                )
    return split_text("\n".join(lines), max_len)


CSV_COLUMNS = [
    "student_id",
    "student",
    "flags",
    "kind",
    "time",
    "set",
    "question_id",
    "question",
    "answer",
    "scale",
    "skipped",
    "urgent",
    "edited",
]


def render_csv(digest: Digest) -> str:
    """One row per session and per answer; UTF-8 with a BOM so Excel shows Japanese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for s in digest.students:
        flags = " ".join(s.flags)
        for session in s.sessions:
            writer.writerow(
                [
                    s.id,
                    s.name,
                    flags,
                    "session",
                    session.local_time,
                    "",
                    "",
                    "",
                    "; ".join(session.topics),
                    "",
                    "",
                    "",
                    "",
                ]
            )
        for a in s.answers:
            writer.writerow(
                [
                    s.id,
                    s.name,
                    flags,
                    "answer",
                    a.local_time,
                    a.set_id,
                    a.question_id,
                    a.question,
                    "" if a.skipped else a.answer,
                    "" if a.scale is None else a.scale,
                    int(a.skipped),
                    int(a.urgent),
                    int(a.edited),
                ]
            )
        if not s.sessions and not s.answers:
            writer.writerow([s.id, s.name, flags, "status", "", "", "", "", "", "", "", "", ""])
    return "\ufeff" + out.getvalue()


def render_json(digest: Digest) -> str:
    return json.dumps(_plain(dataclasses.asdict(digest)), ensure_ascii=False, indent=2)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
