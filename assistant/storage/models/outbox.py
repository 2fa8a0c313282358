"""The outbox table: messages waiting to be sent to a patient's chat (or, for an escalated
alert about the patient, to a care-team member's chat: `member_id`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from assistant.storage.models.columns import created_time, enum_field, json_field, utc_time
from assistant.storage.models.enums import (
    MessageKind,
    OutboxStatus,
)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "priority", "not_before"),
                      {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    # Set: the message is about the patient but goes to this member's chat (an escalation).
    # No foreign key: members are deactivated, never deleted, and the outbox keeps its keys.
    member_id: int | None = Field(default=None, index=True)
    kind: MessageKind = Field(sa_type=String(16), nullable=False)
    priority: int = 5
    text: str
    buttons: list[list[dict[str, str]]] = json_field(list)  # rows of {"text", "data"}
    occurrence_id: int | None = Field(default=None, foreign_key="dose_occurrences.id",
                                      index=True, ondelete="CASCADE")
    dedupe_key: str | None = Field(default=None, max_length=80, unique=True)
    status: OutboxStatus = enum_field(OutboxStatus.pending)
    not_before: datetime = created_time()
    claimed_until: datetime | None = utc_time()
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=16)
    chat_id: str | None = Field(default=None, max_length=64)
    channel_message_id: int | None = None  # the channel's id of the message sent
    created_at: datetime = created_time()
    sent_at: datetime | None = utc_time()
