"""Tables of what the care team follows: readings, alerts, the advice library and what
advice each patient was sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
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


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = {"sqlite_autoincrement": True}
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


class AdviceItem(SQLModel, table=True):
    __tablename__ = "advice_items"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int | None = Field(default=None, foreign_key="care_teams.id", index=True,
                                ondelete="CASCADE")   # None: generic safe content
    title: str = Field(max_length=120)
    body: str = Field(max_length=2000)
    tags: list[str] = json_field(list)          # conditions and goals it fits
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
