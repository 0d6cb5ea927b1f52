"""Neutral replies: what handlers return and what the outbox stores and channels render."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RecipientKind = Literal["student", "counselor"]


@dataclass(frozen=True)
class Button:
    """A choice the user can press. `data` comes back as an Inbound CHOICE event.

    `data` is made by its family's codec (handlers/buttons.py, on bot/engine/buttons.py):
    short ASCII, at most 64 bytes, so it fits Telegram's callback data and LINE's postback
    data; it carries everything needed, so a press still works after a restart.
    """

    label: str
    data: str
    # A button that stays usable after a press (a picker that is edited in place, a menu of
    # students): channels that mark a pressed keyboard as spent leave this one alone.
    keep: bool = False


@dataclass(frozen=True)
class Document:
    """A file to send (Telegram sendDocument). Channels that cannot send files skip it."""

    filename: str
    content: bytes
    mime_type: str = "application/json"


@dataclass(frozen=True)
class Recipient:
    """Someone other than the sender of the current event."""

    kind: RecipientKind
    id: int


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One message. `to=None` answers the sender of the event being handled.

    `concerns` names the students whose words or data the message quotes or is about (a
    digest, an alert to their counselor): deleting one of them drops the message if it is
    still unsent. A message to a student concerns that student without saying so.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    document: Document | None = None
    to: Recipient | None = None
    due_at: datetime | None = None  # None: send now
    # Number of buttons per row when rendered as a keyboard (Telegram); LINE ignores it.
    columns: int = 1
    concerns: frozenset[int] = frozenset()
    # The platform id of an earlier bot message this one replaces (the message whose button
    # was pressed): Telegram edits it in place; a channel that cannot edit (LINE) sends it
    # as a new message.
    replaces: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Serialize the renderable part (recipient and timing live on the outbox row)."""
        raw: dict[str, Any] = {"text": self.text, "columns": self.columns}
        if self.buttons:
            raw["buttons"] = [
                [b.label, b.data, 1] if b.keep else [b.label, b.data] for b in self.buttons
            ]
        if self.replaces:
            raw["replaces"] = self.replaces
        if self.document is not None:
            raw["document"] = {
                "filename": self.document.filename,
                "mime_type": self.document.mime_type,
                "content_b64": base64.b64encode(self.document.content).decode("ascii"),
            }
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Reply:
        document = None
        if doc := raw.get("document"):
            document = Document(
                filename=doc["filename"],
                content=base64.b64decode(doc["content_b64"]),
                mime_type=doc["mime_type"],
            )
        return cls(
            text=raw["text"],
            buttons=tuple(
                Button(b[0], b[1], keep=bool(b[2]) if len(b) > 2 else False)
                for b in raw.get("buttons", [])
            ),
            document=document,
            columns=raw.get("columns", 1),
            replaces=raw.get("replaces", ""),
        )
