"""Changes to the schedules in force, and what they do to the dose occurrences already
planned: a new schedule, a stopped medication, a dose time the patient moves themselves,
a new time zone. Occurrences already reminded stay as they are; the ones not yet
reminded are cancelled or planned anew.

The planner (`assistant.scheduling`) plans occurrences; these functions only change
what it has planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from assistant.domain import dues, zones
from assistant.domain.days import DAY_CODES
from assistant.domain.doses import match_medication
from assistant.domain.schedule_specs import ScheduleSpec, schedule_row
from assistant.errors import InvalidInput
from assistant.services import audit, medications
from assistant.storage.db import get_row, utcnow
from assistant.storage.models import (
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    Patient,
)


def cancel_future(db: Session, *, schedule_id: int | None,
                  after: datetime | None = None) -> None:
    """Cancel occurrences not yet reminded (due from `after` on, when given): the ones
    already sent stay as they are."""
    query = select(DoseOccurrence).where(DoseOccurrence.schedule_id == schedule_id,
                                         DoseOccurrence.status == DoseStatus.planned)
    if after is not None:
        query = query.where(DoseOccurrence.due_at >= after)
    for occ in db.exec(query):
        occ.status = DoseStatus.cancelled


def replan_patient(db: Session, patient_id: int, now: datetime | None = None) -> None:
    """After a time-zone change: future occurrences not yet reminded are planned anew;
    what was already sent stays as it is."""
    now = now or utcnow()
    db.execute(delete(DoseOccurrence).where(col(DoseOccurrence.patient_id) == patient_id,
                                            col(DoseOccurrence.status) == DoseStatus.planned,
                                            col(DoseOccurrence.due_at) > now))
    med_ids = select(Medication.id).where(Medication.patient_id == patient_id)
    db.execute(update(DoseSchedule).where(col(DoseSchedule.medication_id).in_(med_ids))
               .values(planned_until=None, updated_at=now))


def replace_schedule(db: Session, *, medication: Medication, schedule: ScheduleSpec,
                     actor: str, now: datetime | None = None) -> DoseSchedule:
    """A new schedule for a medication, written at `now` (the clock by default); future,
    unsent occurrences of the old one go."""
    if not medication.active:
        raise InvalidInput("this medication is stopped; add it again instead")
    now = now or utcnow()
    patient = get_row(db, Patient, medication.patient_id, "patient")
    timing = schedule.timing(patient.timezone, now)
    for old in db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication.id,
                                                  DoseSchedule.active)):
        old.active = False
        old.updated_at = now
        cancel_future(db, schedule_id=old.id)
    row = schedule_row(medication.id, timing, written_at=now)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="schedule.replace", patient_id=patient.id,
                 detail=f"medication {medication.id}")
    return row


def stop_medication(db: Session, *, medication: Medication, actor: str, reason: str = "",
                    stopped_by: str | None = None, now: datetime | None = None) -> None:
    """Stop a medication (`medication_stops.stop` checks the reason first)."""
    medication.active = False
    medication.stopped_at = now or utcnow()
    medication.stop_reason = reason or None
    medication.stopped_by = stopped_by
    for row in db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication.id)):
        row.active = False
        cancel_future(db, schedule_id=row.id)
    audit.record(db, actor=actor, action="medication.stop", patient_id=medication.patient_id,
                 detail=f"medication {medication.id}" + (f": {reason}" if reason else ""))


@dataclass(frozen=True)
class Shift:
    medications: list[Medication]
    old: str        # "08:00"
    new: str        # "08:30"
    from_day: date  # the first local day at the new time


def shift_reminder(db: Session, patient: Patient, *, to: time, medication: str | None,
                   window_minutes: int, actor: str) -> Shift | None:
    """Self-service: move the dose time nearest to `to` (of the named medication, or of
    every medication taken at that time) to `to`, from tomorrow on, when it is within the
    window the care team allowed. None when no dose time is that close: the team decides.

    From tomorrow, so that no dose of today is reminded twice or not at all: the old
    schedule ends today and a new one, at the new time, starts tomorrow."""
    rows = [(med, row) for med, row in medications.medications(db, patient.id)
            if row is not None and not row.as_needed and row.count is None]
    if medication:
        named = match_medication(medication, [med for med, _ in rows])
        rows = [(med, row) for med, row in rows if med in named]
    wanted = to.hour * 60 + to.minute

    def distance(clock: str) -> int:
        return abs(int(clock[:2]) * 60 + int(clock[3:]) - wanted)

    slots = sorted({clock for _, row in rows for clock in row.times_of_day}, key=distance)
    if not slots or distance(slots[0]) > window_minutes or distance(slots[0]) == 0:
        return None
    old, new = slots[0], to.strftime("%H:%M")
    tz = zones.zone(patient.timezone)
    today = utcnow().astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    moved = []
    for med, row in rows:
        if old not in row.times_of_day or (row.end_date and row.end_date < tomorrow):
            continue
        times = sorted({*row.times_of_day, new} - {old})
        if len(times) < len(row.times_of_day):  # the new time is already one of its times
            continue
        start = max(tomorrow, row.start_date)
        start += timedelta(days=-(start - row.start_date).days % row.every_n_days)  # in step
        spec = ScheduleSpec(times=tuple(times), every_n_days=row.every_n_days,
                            days=",".join(DAY_CODES[d] for d in row.days_of_week)
                            if row.days_of_week is not None else None,
                            start_date=start, end_date=row.end_date)
        timing = spec.timing(patient.timezone)
        if row.start_date > today:
            row.active = False  # not begun yet: nothing of it to keep
        else:
            row.end_date = today
        row.updated_at = utcnow()
        db.add(row)
        cancel_future(db, schedule_id=row.id,
                      after=dues.to_utc(tomorrow, datetime.min.time(), tz))
        db.add(schedule_row(med.id, timing))
        moved.append(med)
    if not moved:
        return None
    db.flush()
    audit.record(db, actor=actor, action="schedule.shift", patient_id=patient.id,
                 detail=f"{old} -> {new} for {len(moved)} medication(s)")
    return Shift(moved, old, new, tomorrow)
