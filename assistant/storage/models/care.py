"""Tables of what the care team follows: readings, the targets they are judged against,
alerts, the advice library and what advice each patient was sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from assistant.storage.models.columns import created_time, enum_field, json_field, utc_time
from assistant.storage.models.enums import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
)


class Reading(SQLModel, table=True):
    """One observation, in its measure's canonical unit (assistant/domain/measures.py).
    Stored once: the same `identifier`, or the same device, code and effective time, of a
    patient is a duplicate (the unique indexes; NULLs never collide)."""
    __tablename__ = "readings"
    __table_args__ = (
        Index("uq_readings_identifier", "patient_id", "identifier", unique=True),
        Index("uq_readings_device_time", "patient_id", "device", "code", "taken_at",
              unique=True),
        Index("ix_readings_patient_taken", "patient_id", "taken_at"),
        {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=32)        # a measure's name: blood_pressure, pulse, weight...
    code: str = Field(max_length=16)        # LOINC, as the observation came
    value: float
    value2: float | None = None             # diastolic for blood pressure
    unit: str = Field(max_length=16)        # normalised: mmHg, mmol/L, kg, bpm, °C
    taken_at: datetime = created_time()     # the effective time: when it was measured
    received_at: datetime = created_time()
    source: str = Field(default="chat", max_length=32)  # chat, console, api, fhir, csv...
    device: str | None = Field(default=None, max_length=120)
    identifier: str | None = Field(default=None, max_length=255)  # "system|value"


class MeasureTarget(SQLModel, table=True):
    """A team's default (patient_id NULL) or a patient's target for one measure: warning
    and urgent levels, low and high (`*2`: the diastolic of blood pressure), the persistence
    a warning needs, and the readings the care plan expects (missing data). A preset's
    levels are stored only once a clinician confirmed them (`confirmed_by`)."""
    __tablename__ = "targets"
    __table_args__ = (Index("ix_targets_owner", "team_id", "patient_id", "measure"),
                      {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int = Field(foreign_key="care_teams.id", ondelete="CASCADE")
    patient_id: int | None = Field(default=None, foreign_key="patients.id",
                                   ondelete="CASCADE")
    measure: str = Field(max_length=32)
    urgent_low: float | None = None
    warning_low: float | None = None
    warning_high: float | None = None
    urgent_high: float | None = None
    urgent_low2: float | None = None
    warning_low2: float | None = None
    warning_high2: float | None = None
    urgent_high2: float | None = None
    persist_count: int = 2
    persist_minutes: int | None = None
    expect_every_hours: float | None = None   # the care plan expects a reading this often
    preset: str | None = Field(default=None, max_length=32)
    confirmed_by: int | None = Field(default=None, foreign_key="team_members.id",
                                     ondelete="SET NULL")
    confirmed_at: datetime | None = utc_time()
    updated_at: datetime = created_time()


class Alert(SQLModel, table=True):
    """Monitoring alerts (kinds reading, trend, forecast, missing_data from detection) name
    their measure and direction, `evidence_at` (the effective time of the reading that
    triggered them) and `last_finding_at` (when detection last found it still so); the
    summary is the one-line reason."""
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_team_status", "team_id", "status"),  # the worklist
                      {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    team_id: int = Field(foreign_key="care_teams.id", index=True, ondelete="CASCADE")
    kind: AlertKind = Field(sa_type=String(24), nullable=False)
    severity: AlertSeverity = enum_field(AlertSeverity.normal)
    summary: str = Field(max_length=2000)
    status: AlertStatus = enum_field(AlertStatus.open)
    assigned_to: int | None = Field(default=None, foreign_key="team_members.id",
                                    ondelete="SET NULL")
    resolution_note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_time()
    resolved_at: datetime | None = utc_time()
    acknowledged_at: datetime | None = utc_time()
    useful: bool | None = None       # said by the clinician who resolved it
    measure: str | None = Field(default=None, max_length=32)
    direction: str | None = Field(default=None, max_length=8)   # low, high; None: missing
    evidence_at: datetime | None = utc_time()
    last_finding_at: datetime | None = utc_time()


class AlertEscalation(SQLModel, table=True):
    """One step of an urgent alert's escalation ladder: the on-call member it went to."""
    __tablename__ = "alert_escalations"
    __table_args__ = (UniqueConstraint("alert_id", "member_id", name="uq_alert_escalations"),
                      {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    alert_id: int = Field(foreign_key="alerts.id", index=True, ondelete="CASCADE")
    member_id: int = Field(foreign_key="team_members.id", ondelete="CASCADE")
    at: datetime = created_time()


class AlertEvent(SQLModel, table=True):
    """One step in an alert's history: created, acknowledged, assigned, replied, resolved,
    reopened, snoozed; who and when."""

    __tablename__ = "alert_events"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    alert_id: int = Field(foreign_key="alerts.id", index=True, ondelete="CASCADE")
    action: str = Field(max_length=24)
    actor: str = Field(max_length=120)      # "member:3", "system", "patient"
    note: str | None = Field(default=None, max_length=2000)   # a reply's text, a reason
    at: datetime = created_time()


class AlertSnooze(SQLModel, table=True):
    """A team member held back news of a monitoring alert's measure and direction until
    `until` (a high's snooze never silences a low: the direction is part of the key)."""
    __tablename__ = "alert_snoozes"
    __table_args__ = (Index("ix_alert_snoozes_key", "patient_id", "measure", "direction"),
                      {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", ondelete="CASCADE")
    alert_id: int | None = Field(default=None, foreign_key="alerts.id", ondelete="SET NULL")
    measure: str = Field(max_length=32)
    direction: str | None = Field(default=None, max_length=8)
    until: datetime = utc_time(nullable=False)
    created_by: str = Field(max_length=120)
    created_at: datetime = created_time()


class AdviceItem(SQLModel, table=True):
    """A piece of advice as the team (or, team_id NULL, CareLoop) wrote it, in English,
    with its translations: {"es": {"title": ..., "body": ...}}; a patient whose language
    has none gets the English."""
    __tablename__ = "advice_items"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int | None = Field(default=None, foreign_key="care_teams.id", index=True,
                                ondelete="CASCADE")   # None: generic safe content
    title: str = Field(max_length=120)
    body: str = Field(max_length=2000)
    tags: list[str] = json_field(list)          # conditions and goals it fits
    translations: dict[str, dict[str, str]] = json_field(dict)  # language → title, body
    active: bool = True
    created_at: datetime = created_time()


class AdviceDelivery(SQLModel, table=True):
    __tablename__ = "advice_deliveries"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    advice_id: int = Field(foreign_key="advice_items.id", ondelete="CASCADE")
    local_day: date
    delivered_at: datetime = created_time()
