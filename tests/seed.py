"""A counselor with many students and a long history of answers, seeded with bulk inserts
through the repositories (the digest benchmark and the "a year of answers" tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.db.uow import Database
from bot.prompts import PromptBook

SETS = ("reflection", "work_life", "inner_outer")
CHOICES = {"yesno": "yes", "topics": "visa"}
START = datetime(2026, 1, 5, tzinfo=UTC)


async def seed_history(
    db: Database,
    prompts: PromptBook,
    *,
    students: int,
    answers_each: int,
    locale: str = "ja",
    text: str = "Câu trả lời {i} của sinh viên {student}: tôi muốn thử phỏng vấn.",
) -> int:
    """One counselor and `students` consented students with `answers_each` answers each,
    one question set a week from January; returns the counselor's id."""
    async with db.uow() as uow:
        counselor = await uow.counselors.add(
            name="Sato", locale=locale, timezone="Asia/Tokyo", is_admin=False, now=START
        )
        ids = []
        for n in range(students):
            student = await uow.students.add(
                counselor_id=counselor.id,
                label=f"学生{n:03d}",
                locale="vi",
                timezone="UTC",
                now=START,
            )
            student.consent = "given"
            ids.append(student.id)
        runs: list[dict[str, Any]] = []
        plans: list[tuple[int, list[str], datetime]] = []
        for student_id in ids:
            given, week = 0, 0
            while given < answers_each:
                set_id = SETS[week % len(SETS)]
                questions = [
                    step.pool[week % len(step.pool)].id for step in prompts.sets[set_id].steps
                ]
                asked = START + timedelta(days=week * 7, hours=student_id % 10)
                runs.append(
                    {
                        "student_id": student_id,
                        "set_id": set_id,
                        "questions": questions,
                        "step": len(questions),
                        "state": "done",
                        "due_at": asked,
                        "asked_at": asked,
                        "finished_at": asked + timedelta(hours=1),
                    }
                )
                taken = questions[: answers_each - given]
                plans.append((student_id, taken, asked))
                given, week = given + len(taken), week + 1
        await uow.runs.add_many(runs)
        run_ids = sorted(r.id for r in await uow.runs.of_students(ids))
        answers: list[dict[str, Any]] = []
        for run_id, (student_id, questions, asked) in zip(run_ids, plans, strict=True):
            for i, question_id in enumerate(questions):
                kind = prompts.question(question_id).kind
                typed = kind not in CHOICES and kind != "scale"
                answers.append(
                    {
                        "run_id": run_id,
                        "student_id": student_id,
                        "question_id": question_id,
                        "text": text.format(i=i, student=student_id) if typed else None,
                        "choice": CHOICES.get(kind),
                        "scale": 1 + (run_id + i) % 5 if kind == "scale" else None,
                        "skipped": False,
                        "urgent": False,
                        "hidden": False,
                        "channel": "telegram",
                        "message_id": "",
                        "created_at": asked + timedelta(minutes=3 * i),
                    }
                )
        await uow.answers.add_many(answers)
        await uow.commit()
    async with db.uow() as uow:
        await uow.analyze()  # a live database has statistics; a fresh bulk load has none
        await uow.commit()
    return counselor.id
