"""Everything stored about one student, as plain data (for /mydata and `furikaeri export`).

Only rows of this student are read: their profile, chat accounts, sessions, question sets,
answers, and the audit entries about them (who logged, read, exported what; never text).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.db.uow import UnitOfWork

QuestionText = Callable[[str], str]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def student_export(
    uow: UnitOfWork,
    student_id: int,
    *,
    question_text: QuestionText | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """All data of one student; `question_text` turns a question id into its wording."""
    student = await uow.students.get(student_id)
    if student is None:
        raise LookupError(f"no student {student_id}")
    counselor = await uow.counselors.get(student.counselor_id)
    accounts = await uow.accounts.of_student(student_id)
    sessions = await uow.sessions.of_student(student_id)
    runs = await uow.runs.of_student(student_id)
    answers = await uow.answers.of_student(student_id)
    audit = await uow.audit.about(f"student:{student_id}")

    def wording(question_id: str) -> str | None:
        if question_text is None:
            return None
        try:
            return question_text(question_id)
        except KeyError:  # a question no longer in prompts/
            return None

    return {
        "exported_at": _iso(now),
        "student": {
            "id": student.id,
            "name_given_by_counselor": student.label,
            "counselor": counselor.name if counselor else None,
            "locale": student.locale,
            "timezone": student.timezone,
            "consent": student.consent,
            "consented_at": _iso(student.consented_at),
            "status": student.status,
            "paused_until": _iso(student.paused_until),
            "reachable": student.reachable,
            "created_at": _iso(student.created_at),
        },
        "chat_accounts": [
            {
                "channel": a.channel,
                "user_id": a.external_id,
                "chat_id": a.chat_id,
                "linked_at": _iso(a.created_at),
            }
            for a in accounts
        ],
        "sessions": [{"held_at": _iso(s.held_at), "topics": list(s.topics)} for s in sessions],
        "question_sets": [
            {
                "id": r.id,
                "set": r.set_id,
                "state": r.state,
                "questions": list(r.questions),
                "due_at": _iso(r.due_at),
                "asked_at": _iso(r.asked_at),
                "finished_at": _iso(r.finished_at),
            }
            for r in runs
        ],
        "answers": [
            {
                "question_id": a.question_id,
                "question": wording(a.question_id),
                "text": a.text,
                "choice": a.choice,
                "scale": a.scale,
                "skipped": a.skipped,
                "urgent": a.urgent,
                "withdrawn": a.hidden,
                "channel": a.channel,
                "created_at": _iso(a.created_at),
                "edited_at": _iso(a.edited_at),
            }
            for a in answers
        ],
        "audit_log": [
            {"at": _iso(e.at), "by": e.actor, "action": e.action, "detail": e.detail} for e in audit
        ],
    }
