"""The data model. Every table is documented by the one-line docstring of its class."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    and_,
    false,
    or_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.states import CodeKind, Consent, InboxState, OutboxState, RunState, StudentStatus
from bot.db.types import StrEnumColumn, UTCDateTime, WordsString, WordsText

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Counselor(Base):
    """A career counselor; sees only their own students."""

    __tablename__ = "counselors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(WordsString(200))
    locale: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    last_digest_at: Mapped[datetime | None]
    last_digest_push_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]  # no chat account, no digest push; kept for history


class Student(Base):
    """A student of one counselor. Before consent only the consent state is kept.

    Whether they may get messages now is decided here, once, for Python and for SQL.
    """

    __tablename__ = "students"
    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselors.id"), index=True)
    # The counselor's name for them.
    label: Mapped[str] = mapped_column(WordsString(200), default="")
    locale: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    consent: Mapped[Consent] = mapped_column(StrEnumColumn(Consent, 16), default=Consent.PENDING)
    status: Mapped[StudentStatus] = mapped_column(
        StrEnumColumn(StudentStatus, 16), default=StudentStatus.ACTIVE
    )
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)  # False: blocked the bot
    paused_until: Mapped[datetime | None]
    # "crisis": questions paused after a message that suggests danger, with no end date,
    # until the student sends /resume or the counselor logs a new session.
    pause_reason: Mapped[str | None] = mapped_column(String(16))
    crisis_at: Mapped[datetime | None]  # the last message that suggested danger (no text)
    consented_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    @property
    def has_consented(self) -> bool:
        return self.consent == Consent.GIVEN

    def is_paused(self, now: datetime) -> bool:
        """Within a /pause, or held after a message that suggested danger (until /resume or a
        new session)."""
        held = self.pause_reason is not None
        return held or (self.paused_until is not None and self.paused_until > now)

    def may_receive(self, now: datetime) -> bool:
        """May get questions and reminders now: consented, not stopped, reachable, not paused.

        `may_receive_where` says the same in SQL; keep the two side by side."""
        return (
            self.has_consented
            and self.status == StudentStatus.ACTIVE
            and self.reachable
            and not self.is_paused(now)
        )

    @classmethod
    def may_receive_where(cls, now: datetime) -> ColumnElement[bool]:
        """`may_receive`, as a condition on the students table."""
        return and_(
            cls.consent == Consent.GIVEN,
            cls.status == StudentStatus.ACTIVE,
            cls.reachable.is_(True),
            or_(cls.paused_until.is_(None), cls.paused_until <= now),
            cls.pause_reason.is_(None),
        )


class ChannelAccount(Base):
    """A chat identity (channel + platform user id) bound to a student or a counselor."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    counselor_id: Mapped[int | None] = mapped_column(ForeignKey("counselors.id"), index=True)
    created_at: Mapped[datetime]


class Code(Base):
    """A single-use, expiring invite (student) or link (counselor) code; only its hash is kept."""

    __tablename__ = "codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[CodeKind] = mapped_column(StrEnumColumn(CodeKind, 8))
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselors.id"), index=True)
    label: Mapped[str] = mapped_column(WordsString(200), default="")
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class CounselingSession(Base):
    """A session a counselor held with a student, with the topics covered."""

    __tablename__ = "counseling_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselors.id"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    held_at: Mapped[datetime]
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Run(Base):
    """One question set sent to one student: its questions, where it stands, when it is due."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_state_due_at", "state", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("counseling_sessions.id", ondelete="CASCADE"), index=True
    )
    set_id: Mapped[str] = mapped_column(String(32))
    questions: Mapped[list[Any]] = mapped_column(JSON)
    step: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[RunState] = mapped_column(StrEnumColumn(RunState, 16), default=RunState.SCHEDULED)
    due_at: Mapped[datetime]
    asked_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Answer(Base):
    """What a student answered to one question, kept as written."""

    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(WordsText)
    choice: Mapped[str | None] = mapped_column(String(64))
    scale: Mapped[int | None]
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    edited_at: Mapped[datetime | None]


class Translation(Base):
    """A machine translation of one answer for its counselor; deleted with the answer."""

    __tablename__ = "translations"
    __table_args__ = (
        UniqueConstraint("answer_id", "target"),
        Index("ix_translations_status_next_attempt_at", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    # Whose words these are, so deletion, export and retention find them.
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # a locale, or "auto": the provider detects
    target: Mapped[str] = mapped_column(String(16))  # the counselor's locale
    provider: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str | None] = mapped_column(WordsText)
    # pending -> done | same (already in the target language) | unsupported | failed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    translated_at: Mapped[datetime | None]


class InboxEvent(Base):
    """Every inbound event, once: (channel, event_id) is unique. Payload cleared once handled."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(160), index=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[InboxState] = mapped_column(
        StrEnumColumn(InboxState, 8), default=InboxState.PENDING, index=True
    )
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times a handler ran on it
    last_error: Mapped[str] = mapped_column(String(64), default="")  # exception type, no text


class OutboxMessage(Base):
    """A message to send, written with the change that caused it; sent after commit."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due_at", "status", "due_at"),
        # A claim asks, for each candidate, whether an older row of its chat still waits and
        # (Telegram) how many went to that chat just now: both are lookups by chat.
        Index(
            "ix_outbox_channel_chat_id_status_sent_at", "channel", "chat_id", "status", "sent_at"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[OutboxState] = mapped_column(
        StrEnumColumn(OutboxState, 12), default=OutboxState.PENDING
    )
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(200), default="")
    reply_token: Mapped[str] = mapped_column(String(256), default="")
    reply_token_expires_at: Mapped[datetime | None]
    # To someone the bot does not know (or no longer knows): the chat id is blanked once sent.
    forget_chat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class OutboxConcern(Base):
    """Which students an outbox message quotes or is about, so deleting them finds it."""

    __tablename__ = "outbox_concerns"
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SendBudget(Base):
    """A channel's send rate, shared by every process: the next free slot (no personal data).

    Each sender books slots here before it sends, so processes together stay under the
    platform's limit (one atomic UPDATE per booking; see bot/db/repo_budget.py)."""

    __tablename__ = "send_budget"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Unix time (wall clock, seconds) at which the next message may go; in the past when idle.
    next_at: Mapped[float] = mapped_column(Float, default=0.0)


class CodeAttempt(Base):
    """A wrong invite or link code sent from one chat; kept only while it counts (minutes).

    The chat is known by a hash, so these rows name nobody.
    """

    __tablename__ = "code_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)


class ConversationState(Base):
    """Where a chat account is in a multi-step exchange (e.g. /session); survives restarts."""

    __tablename__ = "conversation_states"
    account_id: Mapped[int] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only: who read, exported, deleted or logged what, about whom. Never text."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))  # "counselor:3", "student:9", "cli"
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
