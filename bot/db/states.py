"""The states a row can be in, as types. Stored as their string values (the same strings
the columns always held), so the enums changed the code, not the data."""

from __future__ import annotations

from enum import StrEnum


class Consent(StrEnum):
    """A student's consent; nothing of theirs is kept unless it is GIVEN."""

    PENDING = "pending"
    GIVEN = "given"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class StudentStatus(StrEnum):
    """Whether the student wants messages at all (/stop, /resume); a pause is a date."""

    ACTIVE = "active"
    STOPPED = "stopped"


class RunState(StrEnum):
    """scheduled -> active -> done | expired | cancelled."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    DONE = "done"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


OPEN_RUN_STATES = (RunState.SCHEDULED, RunState.ACTIVE)


class InboxState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # kept, with its payload, for a retry


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CodeKind(StrEnum):
    INVITE = "invite"  # lets a new student in
    LINK = "link"  # links a counselor's chat account
