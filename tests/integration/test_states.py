"""States are enums stored as the strings the columns always held, and the rule "may this
student get messages now" gives the same answer in Python and in SQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.models import Student
from bot.db.states import Consent, RunState, StudentStatus
from bot.db.uow import Database
from tests.harness import Harness

NOW = datetime(2026, 4, 6, 1, 0, tzinfo=UTC)


async def test_states_are_stored_as_their_old_strings(harness: Harness) -> None:
    counselor = await harness.counselor()
    student_id = await harness.student(counselor, "s1")
    await harness.session(counselor, student_id)
    async with harness.engine.db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT consent, status FROM students"))).one()
        runs = (await conn.execute(text("SELECT state FROM runs ORDER BY id"))).scalars().all()
        codes = (await conn.execute(text("SELECT kind FROM codes ORDER BY id"))).scalars().all()
    assert tuple(raw) == ("given", "active")
    assert runs == ["active", "scheduled", "scheduled"]
    assert codes == ["link", "invite"]
    async with harness.engine.db.uow() as uow:
        student = await uow.students.get(student_id)
        assert student is not None and student.consent is Consent.GIVEN
        run = await uow.runs.active_of(student_id)
        assert run is not None and run.state is RunState.ACTIVE


async def test_a_value_outside_the_enum_is_never_written(database_url: str) -> None:
    db = Database(create_engine(database_url))
    try:
        await upgrade(db.engine)
        async with db.uow() as uow:
            counselor = await uow.counselors.add(
                name="Sato", locale="en", timezone="UTC", is_admin=False, now=NOW
            )
            student = await uow.students.add(
                counselor_id=counselor.id, label="x", locale="en", timezone="UTC", now=NOW
            )
            student.consent = "maybe"  # type: ignore[assignment]
            with pytest.raises(StatementError):
                await uow.session.flush()
    finally:
        await db.dispose()


async def test_may_receive_is_the_same_rule_in_python_and_in_sql(database_url: str) -> None:
    db = Database(create_engine(database_url))
    try:
        await upgrade(db.engine)
        grid = list(
            itertools.product(
                list(Consent),
                list(StudentStatus),
                (True, False),  # reachable
                (None, NOW - timedelta(hours=1), NOW + timedelta(hours=1)),  # paused until
            )
        )
        async with db.uow() as uow:
            counselor = await uow.counselors.add(
                name="Sato", locale="en", timezone="UTC", is_admin=False, now=NOW
            )
            for consent, status, reachable, paused_until in grid:
                student = await uow.students.add(
                    counselor_id=counselor.id, label="", locale="en", timezone="UTC", now=NOW
                )
                student.consent, student.status = consent, status
                student.reachable, student.paused_until = reachable, paused_until
            await uow.commit()
        async with db.uow() as uow:
            students = (await uow.session.scalars(select(Student))).all()
            in_python = {s.id for s in students if s.may_receive(NOW)}
            query = select(Student.id).where(Student.may_receive_where(NOW))
            in_sql = set((await uow.session.scalars(query)).all())
        assert in_python == in_sql
        # Consented, active and reachable, with no pause or one that already ended.
        assert len(in_sql) == 2  # paused_until None, or a pause that already ended
    finally:
        await db.dispose()
