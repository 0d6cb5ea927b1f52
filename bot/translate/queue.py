"""Queue an answer for translation in the transaction that stores it (nothing is called).

An answer is queued when a translator is configured and its language differs from its
counselor's: the source is the student's locale, or "auto" (the service detects it) when
the answer is clearly in another script than the student's language.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.db.models import Answer, Student
from bot.db.uow import UnitOfWork
from bot.translate.scripts import clearly_not_in

AUTO = "auto"


def source_language(text: str, student_locale: str) -> str:
    return AUTO if clearly_not_in(text, student_locale) else student_locale


async def queue_translation(
    uow: UnitOfWork,
    settings: Settings,
    *,
    answer: Answer,
    student: Student,
    now: datetime,
    edited: bool = False,
) -> bool:
    """Queue the answer's translation (after an edit: again, dropping the old one)."""
    if edited:
        await uow.translations.delete_of_answer(answer.id)
    if settings.translator == "none" or not (answer.text or "").strip():
        return False
    counselor = await uow.counselors.get(student.counselor_id)
    if counselor is None:
        return False
    source = source_language(answer.text or "", student.locale)
    if source == counselor.locale:
        return False
    await uow.translations.queue(
        answer_id=answer.id,
        student_id=student.id,
        source=source,
        target=counselor.locale,
        now=now,
    )
    return True
