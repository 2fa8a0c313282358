"""The storage tables: the database is CareLoop's source of truth.

Teams and their members; patients, the chat linked to each and the one-time codes that
link them; medications with their dose schedules and every dose occurrence with its
outcome; the outbox of messages to send; readings, alerts, advice and the audit log.
Schema changes go through Alembic (`assistant/storage/migrations`), never `create_all`.

Every table is `sqlite_autoincrement`: SQLite otherwise gives a deleted row's id to the
next row, and an id must never come back (an erased patient's audit trail would pass to
the next patient). PostgreSQL's sequences never go back anyway.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from assistant.storage.db import UTCDateTime, utcnow


def _at(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(factory: Any) -> Any:
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


def _enum(default: Any) -> Any:
    # Plain strings in the database: no native enum types to migrate.
    return Field(default=default, sa_type=String(16), nullable=False)


class Role(StrEnum):
    admin = "admin"
    clinician = "clinician"


class PatientStatus(StrEnum):
    active = "active"
    paused = "paused"
    stopped = "stopped"


class DoseStatus(StrEnum):
    planned = "planned"      # expanded from the schedule, not yet due
    sent = "sent"            # reminder handed to the outbox
    snoozed = "snoozed"      # patient asked to be reminded again at `remind_at`
    taken = "taken"
    skipped = "skipped"
    missed = "missed"
    cancelled = "cancelled"  # schedule changed or stopped before it was due


OPEN_DOSE_STATUSES = (DoseStatus.planned, DoseStatus.sent, DoseStatus.snoozed)


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"        # gave up (blocked, too many errors); the team can see it
    dropped = "dropped"      # no longer useful (dose answered, chat unlinked)


class MessageKind(StrEnum):
    reminder = "reminder"
    nudge = "nudge"
    refill = "refill"
    advice = "advice"
    reply = "reply"          # a care-team reply relayed to the patient


# Lower sends first when the rate limit is the bottleneck: medication before advice.
PRIORITY = {MessageKind.reminder: 0, MessageKind.nudge: 1, MessageKind.reply: 1,
            MessageKind.refill: 2, MessageKind.advice: 5}


class AlertKind(StrEnum):
    emergency = "emergency"
    symptom = "symptom"
    question = "question"
    missed_doses = "missed_doses"
    reading = "reading"
    unreachable = "unreachable"
    refill = "refill"
    schedule_change = "schedule_change"
    chat_changed = "chat_changed"    # a new code moved the patient to another chat


class AlertSeverity(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class CareTeam(SQLModel, table=True):
    __tablename__ = "care_teams"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    name: str = Field(max_length=120, unique=True)
    emergency_number: str | None = Field(default=None, max_length=32)
    crisis_line: str | None = Field(default=None, max_length=120)
    missed_alert_after: int = Field(default=2, ge=1)
    grace_minutes: int | None = Field(default=None, ge=0)
    followup_minutes: int | None = Field(default=None, ge=1)
    # {"glucose": {"low": 4.0, "high": 10.0}, ...}: a reading outside raises an alert
    reading_thresholds: dict[str, dict[str, float]] = _json(dict)
    # A patient may move a dose time by up to this much themselves (0: the team decides)
    self_shift_minutes: int = Field(default=0, ge=0, le=720)
    created_at: datetime = _created()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int = Field(foreign_key="care_teams.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    email: str = Field(max_length=254, unique=True)
    role: Role = _enum(Role.clinician)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = _created()


class ApiToken(SQLModel, table=True):
    """A member's token for the REST API; only its hash is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    member_id: int = Field(foreign_key="team_members.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _created()
    last_used_at: datetime | None = _at()
    revoked_at: datetime | None = _at()


class LoginAttempt(SQLModel, table=True):
    """Failed console logins (and those being checked), to rate-limit password guessing
    per email and address together, and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    key: str = Field(max_length=300, index=True)     # "pair:EMAIL ADDRESS" or "ip:ADDRESS"
    at: datetime = _created()


class ConsoleSession(SQLModel, table=True):
    """A console login. The browser's cookie carries a random id, only its hash is kept
    here; logout, a password change and deactivation revoke it."""

    __tablename__ = "console_sessions"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    member_id: int = Field(foreign_key="team_members.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _created()
    last_seen_at: datetime = _created()                # ends after CARELOOP_SESSION_MINUTES idle
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # however busy
    revoked_at: datetime | None = _at()


def new_chat_ref() -> str:
    return secrets.token_hex(16)


class Patient(SQLModel, table=True):
    __tablename__ = "patients"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int = Field(foreign_key="care_teams.id", index=True, ondelete="CASCADE")
    # The conversation id Rasa sees: opaque, never the Telegram id nor the row id.
    chat_ref: str = Field(default_factory=new_chat_ref, max_length=32, unique=True)
    display_name: str = Field(max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", max_length=8)
    status: PatientStatus = _enum(PatientStatus.active)
    consent_at: datetime | None = _at()
    conditions: list[str] = _json(list)
    goals: list[str] = _json(list)
    quiet_start: str | None = Field(default=None, max_length=5)   # "22:00", local
    quiet_end: str | None = Field(default=None, max_length=5)     # "07:00", local
    advice_time: str | None = Field(default="10:00", max_length=5)
    advice_per_day: int = Field(default=1, ge=0, le=5)
    last_contact_at: datetime | None = _at()
    created_at: datetime = _created()


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
    linked_at: datetime = _created()
    unlinked_at: datetime | None = _at()
    unreachable_at: datetime | None = _at()


class EnrolmentCode(SQLModel, table=True):
    __tablename__ = "enrolment_codes"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = _at()
    created_by: str | None = Field(default=None, max_length=120)
    created_at: datetime = _created()


class EnrolmentAttempt(SQLModel, table=True):
    """Failed `/start CODE` attempts, to throttle guessing per chat and from all chats."""

    __tablename__ = "enrolment_attempts"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    chat_id: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False,
                         index=True)  # counted across all chats too


class Medication(SQLModel, table=True):
    __tablename__ = "medications"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    strength: str = Field(default="", max_length=60)       # "500 mg"
    dose: str = Field(default="1 tablet", max_length=60)   # how much per occurrence
    instructions: str = Field(default="", max_length=500)  # "with food"
    purpose: str = Field(default="", max_length=500)       # written by the care team
    # What to do when a dose is missed, as the care team wrote it: the only missed-dose
    # answer the assistant gives (it never makes up dosing advice of its own).
    missed_dose_instructions: str = Field(default="", max_length=500)
    supply_count: int | None = Field(default=None, ge=0)
    refill_days: int | None = Field(default=None, ge=0)
    active: bool = True
    created_at: datetime = _created()
    stopped_at: datetime | None = _at()

    @property
    def label(self) -> str:
        return f"{self.name} {self.strength}".strip()


class DoseSchedule(SQLModel, table=True):
    """When a medication is due, after FHIR `Timing.repeat`; local to the patient's zone."""

    __tablename__ = "dose_schedules"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    medication_id: int = Field(foreign_key="medications.id", index=True, ondelete="CASCADE")
    times_of_day: list[str] = _json(list)                 # ["08:00", "20:00"]
    days_of_week: list[int] | None = Field(default=None, sa_column=Column(JSON))  # 0=Mon
    every_n_days: int = Field(default=1, ge=1)
    start_date: date
    end_date: date | None = None
    count: int | None = Field(default=None, ge=1)
    as_needed: bool = False
    active: bool = True
    updated_at: datetime = _created()
    # Occurrences exist up to here; the planner extends it as time goes by.
    planned_until: datetime | None = _at(index=True)


class DoseOccurrence(SQLModel, table=True):
    __tablename__ = "dose_occurrences"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at", name="uq_dose_occurrences_schedule_due"),
        Index("ix_dose_occurrences_status_due", "status", "due_at"),
        {"sqlite_autoincrement": True},
    )
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    schedule_id: int = Field(foreign_key="dose_schedules.id", ondelete="CASCADE")
    medication_id: int = Field(foreign_key="medications.id", index=True, ondelete="CASCADE")
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: DoseStatus = _enum(DoseStatus.planned)
    remind_at: datetime | None = _at()        # next reminder (snooze) or nudge moment
    reminders_sent: int = 0
    sent_at: datetime | None = _at()
    outcome_at: datetime | None = _at()
    outcome_source: str | None = Field(default=None, max_length=16)  # button, chat, team


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "priority", "not_before"),
                      {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    kind: MessageKind = Field(sa_type=String(16), nullable=False)
    priority: int = 5
    text: str
    buttons: list[list[dict[str, str]]] = _json(list)  # rows of {"text", "data"}
    occurrence_id: int | None = Field(default=None, foreign_key="dose_occurrences.id",
                                      index=True, ondelete="CASCADE")
    dedupe_key: str | None = Field(default=None, max_length=80, unique=True)
    status: OutboxStatus = _enum(OutboxStatus.pending)
    not_before: datetime = _created()
    claimed_until: datetime | None = _at()
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=16)
    chat_id: str | None = Field(default=None, max_length=64)
    channel_message_id: int | None = None  # the channel's id of the message sent
    created_at: datetime = _created()
    sent_at: datetime | None = _at()


class Reading(SQLModel, table=True):
    """One observation, in its measure's canonical unit (assistant/domain/measures.py).
    Stored once: the same `identifier`, or the same device, code and effective time, of a
    patient is a duplicate (the unique indexes; NULLs never collide)."""
    __tablename__ = "readings"
    __table_args__ = (
        Index("uq_readings_identifier", "patient_id", "identifier", unique=True),
        Index("uq_readings_device_time", "patient_id", "device", "code", "taken_at",
              unique=True),
        {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=32)        # a measure's name: blood_pressure, pulse, weight...
    code: str = Field(max_length=16)        # LOINC, as the observation came
    value: float
    value2: float | None = None             # diastolic for blood pressure
    unit: str = Field(max_length=16)        # normalised: mmHg, mmol/L, kg, bpm, °C
    taken_at: datetime = _created()         # the effective time: when it was measured
    received_at: datetime = _created()
    source: str = Field(default="chat", max_length=32)  # chat, console, api, fhir, csv...
    device: str | None = Field(default=None, max_length=120)
    identifier: str | None = Field(default=None, max_length=255)  # "system|value"


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    team_id: int = Field(foreign_key="care_teams.id", index=True, ondelete="CASCADE")
    kind: AlertKind = Field(sa_type=String(24), nullable=False)
    severity: AlertSeverity = _enum(AlertSeverity.normal)
    summary: str = Field(max_length=2000)
    status: AlertStatus = _enum(AlertStatus.open)
    assigned_to: int | None = Field(default=None, foreign_key="team_members.id",
                                    ondelete="SET NULL")
    resolution_note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _created()
    resolved_at: datetime | None = _at()


class AdviceItem(SQLModel, table=True):
    __tablename__ = "advice_items"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int | None = Field(default=None, foreign_key="care_teams.id", index=True,
                                ondelete="CASCADE")   # None: generic safe content
    title: str = Field(max_length=120)
    body: str = Field(max_length=2000)
    tags: list[str] = _json(list)          # conditions and goals it fits
    active: bool = True
    created_at: datetime = _created()


class AdviceDelivery(SQLModel, table=True):
    __tablename__ = "advice_deliveries"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    advice_id: int = Field(foreign_key="advice_items.id", ondelete="CASCADE")
    local_day: date
    delivered_at: datetime = _created()


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    at: datetime = _created()
    actor: str = Field(max_length=120)      # "member:3", "cli", "patient", "system"
    action: str = Field(max_length=60)
    patient_id: int | None = Field(default=None, index=True)  # no FK: survives erasure
    # The team that may read the entry (the acting member's, else the patient's); none
    # for what no team did or owns (the CLI acting on an erased patient). No FK either.
    team_id: int | None = Field(default=None, index=True)
    detail: str = Field(default="", max_length=500)
