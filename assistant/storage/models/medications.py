"""Tables of medications, their dose schedules and every dose occurrence with its
outcome."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from assistant.storage.db import UTCDateTime
from assistant.storage.models.columns import created_time, enum_field, json_field, utc_time
from assistant.storage.models.enums import (
    DoseStatus,
)


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
    # The team's translations of the label's texts: {"es": {"instructions": ..., "purpose":
    # ...}}; the name, strength and dose stay as prescribed.
    translations: dict[str, dict[str, str]] = json_field(dict)
    supply_count: int | None = Field(default=None, ge=0)
    refill_days: int | None = Field(default=None, ge=0)
    active: bool = True
    created_at: datetime = created_time()
    stopped_at: datetime | None = utc_time()
    # Why and by whom it was stopped (like FHIR MedicationRequest.statusReason).
    stop_reason: str | None = Field(default=None, max_length=500)
    stopped_by: str | None = Field(default=None, max_length=120)

    @property
    def label(self) -> str:
        return f"{self.name} {self.strength}".strip()


class DoseSchedule(SQLModel, table=True):
    """When a medication is due, after FHIR `Timing.repeat`; local to the patient's zone."""

    __tablename__ = "dose_schedules"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    medication_id: int = Field(foreign_key="medications.id", index=True, ondelete="CASCADE")
    times_of_day: list[str] = json_field(list)                 # ["08:00", "20:00"]
    days_of_week: list[int] | None = Field(default=None, sa_column=Column(JSON))  # 0=Mon
    every_n_days: int = Field(default=1, ge=1)
    start_date: date
    end_date: date | None = None
    count: int | None = Field(default=None, ge=1)
    as_needed: bool = False
    active: bool = True
    updated_at: datetime = created_time()
    # Occurrences exist up to here; the planner extends it as time goes by.
    planned_until: datetime | None = utc_time(index=True)


class DoseOccurrence(SQLModel, table=True):
    __tablename__ = "dose_occurrences"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at", name="uq_dose_occurrences_schedule_due"),
        Index("ix_dose_occurrences_status_due", "status", "due_at"),
        Index("ix_dose_occurrences_patient_due", "patient_id", "due_at"),  # a week's doses
        {"sqlite_autoincrement": True},
    )
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    schedule_id: int = Field(foreign_key="dose_schedules.id", ondelete="CASCADE")
    medication_id: int = Field(foreign_key="medications.id", index=True, ondelete="CASCADE")
    patient_id: int = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: DoseStatus = enum_field(DoseStatus.planned)
    remind_at: datetime | None = utc_time()        # next reminder (snooze) or nudge moment
    reminders_sent: int = 0
    sent_at: datetime | None = utc_time()
    outcome_at: datetime | None = utc_time()
    outcome_source: str | None = Field(default=None, max_length=16)  # button, chat, team
