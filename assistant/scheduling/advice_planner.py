"""Scheduled lifestyle advice: at the patient's preferred local time, within their limit
per day, held during quiet hours, and always after medication reminders in the queue."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from sqlmodel import Session, col, func, select

from assistant.domain import zones
from assistant.services import advice
from assistant.storage.db import is_postgres, utcnow
from assistant.storage.models import (
    PRIORITY,
    AdviceDelivery,
    MessageKind,
    OutboxMessage,
    Patient,
    PatientStatus,
)

# The n-th advice of a day comes this long after the one before.
SPACING = timedelta(hours=4)


def _hm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(patient: Patient, local: datetime) -> bool:
    if not (patient.quiet_start and patient.quiet_end):
        return False
    start, end, now = _hm(patient.quiet_start), _hm(patient.quiet_end), local.time()
    return start <= now < end if start <= end else (now >= start or now < end)


def _at(day: date, clock: str, tz: tzinfo) -> datetime:
    return datetime.combine(day, _hm(clock), tz)


def plan_advice(db: Session, now: datetime | None = None) -> int:
    """Queue the advice that is due now; returns how many messages were queued. Only the
    patients whose `advice_due_at` has come (or is not known yet) are read; each one's
    next moment is stored: the next advice of the day, else tomorrow's first. On
    PostgreSQL the rows are claimed, so several scheduler workers share the work."""
    now = now or utcnow()
    queued = 0
    due_ones = select(Patient).where(
        Patient.status == PatientStatus.active, Patient.advice_per_day > 0,
        col(Patient.advice_time).is_not(None),
        col(Patient.advice_due_at).is_(None) | (col(Patient.advice_due_at) <= now))
    if is_postgres(db.get_bind()):  # type: ignore[arg-type]
        due_ones = due_ones.with_for_update(skip_locked=True)  # another worker's: skipped
    for patient in db.exec(due_ones):
        tz = zones.zone(patient.timezone)
        local = now.astimezone(tz)
        given = db.exec(select(func.count()).select_from(AdviceDelivery).where(
            AdviceDelivery.patient_id == patient.id,
            AdviceDelivery.local_day == local.date())).one()
        assert patient.advice_time is not None
        tomorrow = _at(local.date() + timedelta(days=1), patient.advice_time, tz)
        due = _at(local.date(), patient.advice_time, tz) + SPACING * given
        if given >= patient.advice_per_day or due.date() != local.date():
            patient.advice_due_at = tomorrow
        elif local < due:
            patient.advice_due_at = due
        elif in_quiet_hours(patient, local):
            patient.advice_due_at = None  # looked at again at each tick until they end
        else:
            item = advice.choose(db, patient)
            if item is not None:
                db.add(OutboxMessage(
                    patient_id=patient.id, kind=MessageKind.advice,
                    priority=PRIORITY[MessageKind.advice],
                    text=advice.deliver(db, patient, item, local.date()), not_before=now,
                    dedupe_key=f"advice:{patient.id}:{local.date()}:{given}"))
                queued += 1
            later = due + SPACING
            patient.advice_due_at = (later if item is not None and given + 1 <
                                     patient.advice_per_day and later.date() == local.date()
                                     else tomorrow)
        db.add(patient)
    return queued
