"""The counselor's students at a glance: language, status, last answer, open flags.

The same rows feed /students in chat and `furikaeri students` (a table, or JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.db.models import Counselor
from bot.engine.context import Context
from bot.i18n import Translator, display_name
from handlers.digest.build import ALERT_FLAGS, build_digest
from handlers.digest.render import day, flags_text, status_text

OPEN_FLAGS = (*ALERT_FLAGS, "unanswered")  # what still wants the counselor's attention
CHAT_LINES = 200  # /students in chat; the CLI lists everyone


@dataclass
class StudentRow:
    id: int
    name: str
    locale: str
    language: str  # the language's own name
    status: str  # a key: invited|declined|withdrawn|unreachable|stopped|paused|active
    status_text: str  # in the counselor's language ("paused until May 20")
    last_answer: datetime | None
    last_answer_text: str  # a short date in the counselor's zone and language, or "–"
    flags: list[str]  # open flags since the last digest (urgent, wants to talk, unanswered)
    flags_text: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "locale": self.locale,
            "status": self.status,
            "status_text": self.status_text,
            "last_answer": self.last_answer.isoformat() if self.last_answer else None,
            "flags": self.flags,
        }


async def student_rows(ctx: Context, counselor: Counselor) -> list[StudentRow]:
    """Every student of the counselor, by number; flags are those of the next /digest."""
    built = await build_digest(ctx, counselor, since=None, everyone=True)
    last = await ctx.uow.digest.last_answers(counselor.id)
    t: Translator = ctx.tr(counselor.locale)
    zone = ZoneInfo(counselor.timezone)
    rows = []
    for student in sorted(built.students, key=lambda s: s.id):
        at = last.get(student.id)
        flags = [f for f in student.flags if f in OPEN_FLAGS]
        rows.append(
            StudentRow(
                id=student.id,
                name=student.name,
                locale=student.locale,
                language=display_name(student.locale),
                status=student.status,
                status_text=status_text(t, student),
                last_answer=at,
                last_answer_text=day(at.astimezone(zone).date(), t.locale) if at else "–",
                flags=flags,
                flags_text=flags_text(t, flags),
            )
        )
    return rows


def chat_lines(t: Translator, rows: list[StudentRow]) -> list[str]:
    """One line per student for chat."""
    lines = []
    for row in rows[:CHAT_LINES]:
        line = f"#{row.id} {row.name} · {row.language} · {row.status_text} · "
        line += t._("last answer {date}", date=row.last_answer_text)
        if row.flags:
            line = "⚑ " + line + " · " + row.flags_text
        lines.append(line)
    if len(rows) > CHAT_LINES:
        lines.append(
            t.ngettext(
                "…and {n} more student.",
                "…and {n} more students.",
                len(rows) - CHAT_LINES,
            )
        )
    return lines
