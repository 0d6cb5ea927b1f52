"""Everything stored about one student, as plain data (for /mydata and `furikaeri export`)."""

from __future__ import annotations

from typing import Any

from bot.db.uow import UnitOfWork


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def student_export(uow: UnitOfWork, student_id: int) -> dict[str, Any]:
    student = await uow.students.get(student_id)
    if student is None:
        raise LookupError(f"no student {student_id}")
    accounts = await uow.accounts.of_student(student_id)
    sessions = await uow.sessions.of_student(student_id)
    runs = await uow.runs.of_student(student_id)
    answers = await uow.answers.of_student(student_id)
    return {
        "student": {
            "id": student.id,
            "name_given_by_counselor": student.label,
            "locale": student.locale,
            "timezone": student.timezone,
            "consent": student.consent,
            "consented_at": _iso(student.consented_at),
            "status": student.status,
            "created_at": _iso(student.created_at),
        },
        "chat_accounts": [{"channel": a.channel, "user_id": a.external_id} for a in accounts],
        "sessions": [{"held_at": _iso(s.held_at), "topics": s.topics} for s in sessions],
        "question_sets": [
            {
                "id": r.id,
                "set": r.set_id,
                "state": r.state,
                "questions": r.questions,
                "due_at": _iso(r.due_at),
                "finished_at": _iso(r.finished_at),
            }
            for r in runs
        ],
        "answers": [
            {
                "question_id": a.question_id,
                "text": a.text,
                "choice": a.choice,
                "scale": a.scale,
                "skipped": a.skipped,
                "withdrawn": a.hidden,
                "created_at": _iso(a.created_at),
                "edited_at": _iso(a.edited_at),
            }
            for a in answers
        ],
    }
