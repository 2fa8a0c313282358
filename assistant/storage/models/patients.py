"""Tables of patients, the chat linked to each, and the one-time enrolment codes (and
attempts) that link them."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from assistant.storage.db import UTCDateTime, utcnow
from assistant.storage.models.columns import created_time, enum_field, json_field, utc_time
from assistant.storage.models.enums import (
    PatientStatus,
)


def new_chat_ref() -> str:
    return secrets.token_hex(16)


class Patient(SQLModel, table=True):
    __tablename__ = "patients"
    __table_args__ = (
        # A record number names one patient in a team; many patients have none.
        Index("uq_patients_team_record", "team_id", "record_number", unique=True,
              sqlite_where=text("record_number IS NOT NULL"),
              postgresql_where=text("record_number IS NOT NULL")),
        {"sqlite_autoincrement": True},
    )
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int = Field(foreign_key="care_teams.id", index=True, ondelete="CASCADE")
    # The conversation id Rasa sees: opaque, never the Telegram id nor the row id.
    chat_ref: str = Field(default_factory=new_chat_ref, max_length=32, unique=True)
    display_name: str = Field(max_length=120)
    # A second identifier shown beside the name everywhere: two "Ada Okafor" differ.
    birth_date: date | None = None
    record_number: str | None = Field(default=None, max_length=32)   # the clinic's own
    timezone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", max_length=8)
    status: PatientStatus = enum_field(PatientStatus.active)
    consent_at: datetime | None = utc_time()
    conditions: list[str] = json_field(list)
    goals: list[str] = json_field(list)
    quiet_start: str | None = Field(default=None, max_length=5)   # "22:00", local
    quiet_end: str | None = Field(default=None, max_length=5)     # "07:00", local
    advice_time: str | None = Field(default="10:00", max_length=5)
    advice_per_day: int = Field(default=1, ge=0, le=5)
    # When the planner next looks at this patient's advice (UTC); None: at its next tick
    # (new, or the advice settings changed). The planner reads only the due ones.
    advice_due_at: datetime | None = utc_time(index=True)
    last_contact_at: datetime | None = utc_time()
    created_at: datetime = created_time()


class ChatLink(SQLModel, table=True):
    """A chat linked to a patient. At most one active link per patient and per chat."""

    __tablename__ = "chat_links"
    __table_args__ = (
        Index("uq_chat_links_active_chat", "channel", "chat_id", unique=True,
              sqlite_where=text("unlinked_at IS NULL"),
              postgresql_where=text("unlinked_at IS NULL")),
        Index("uq_chat_links_active_patient", "patient_id", unique=True,
              sqlite_where=text("unlinked_at IS NULL"),
              postgresql_where=text("unlinked_at IS NULL")),
        {"sqlite_autoincrement": True},
    )
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    channel: str = Field(default="telegram", max_length=16)   # "telegram" or "console"
    chat_id: str = Field(max_length=64)
    linked_at: datetime = created_time()
    unlinked_at: datetime | None = utc_time()
    unreachable_at: datetime | None = utc_time()


class EnrolmentCode(SQLModel, table=True):
    __tablename__ = "enrolment_codes"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = utc_time()
    created_by: str | None = Field(default=None, max_length=120)
    created_at: datetime = created_time()


class EnrolmentAttempt(SQLModel, table=True):
    """Failed `/start CODE` attempts, to throttle guessing per chat and from all chats."""

    __tablename__ = "enrolment_attempts"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    chat_id: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False,
                         index=True)  # counted across all chats too
