"""Dose outcomes, today's plan and adherence: what the patient did about each dose.

Used by the chat actions, the reminder buttons and the care-team console. Recording
an outcome is idempotent: a dose already answered keeps its first answer. A reminder's
button (`dose:<occurrence id>:<answer>`) is applied only to a dose of the chat's patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from assistant import texts
from assistant.domain import dues, zones
from assistant.domain.adherence_chart import Tally
from assistant.domain.doses import Action, Dose, doses_per_day
from assistant.services import alerts, medications
from assistant.services.reminders import outcome
from assistant.storage.db import get_row, utcnow
from assistant.storage.models import (
    OPEN_DOSE_STATUSES,
    PRIORITY,
    AlertKind,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
)
from assistant.texts import formats

# A dose can be answered from this long before it is due ("I just took it") ...
EARLY_WINDOW = timedelta(hours=2)
# ... until this long after, when it was not reminded yet or the reminder went unanswered.
LATE_WINDOW = timedelta(hours=12)


def answerable(db: Session, patient_id: int, now: datetime | None = None) -> list[Dose]:
    """Doses the patient can still answer, the most plausible first: reminded ones, then
    the nearest to now."""
    now = now or utcnow()
    rows = db.exec(
        select(DoseOccurrence, Medication)
        .join(Medication, col(Medication.id) == DoseOccurrence.medication_id)
        .where(DoseOccurrence.patient_id == patient_id,
               col(DoseOccurrence.status).in_(OPEN_DOSE_STATUSES),
               DoseOccurrence.due_at >= now - LATE_WINDOW,
               DoseOccurrence.due_at <= now + EARLY_WINDOW)
    ).all()
    doses = [Dose(occ, med) for occ, med in rows]
    return sorted(doses, key=lambda d: (d.occurrence.status == DoseStatus.planned,
                                        abs((d.occurrence.due_at - now).total_seconds())))


def _drop_reminders(db: Session, occurrence_id: int, reason: str) -> None:
    db.execute(update(OutboxMessage)
               .where(col(OutboxMessage.occurrence_id) == occurrence_id,
                      col(OutboxMessage.status) == OutboxStatus.pending)
               .values(status=OutboxStatus.dropped, last_error=reason))


def record(db: Session, dose: Dose, action: Action, *, source: str,
           snooze_minutes: int = 15, now: datetime | None = None) -> bool:
    """Apply the patient's answer; False when the dose had already been answered."""
    now = now or utcnow()
    occ = dose.occurrence
    if occ.status not in OPEN_DOSE_STATUSES:
        return False
    _drop_reminders(db, dose.id, f"answered: {action}")
    if action is Action.snooze:
        occ.status = DoseStatus.snoozed
        occ.remind_at = now + timedelta(minutes=snooze_minutes)
        return True
    occ.status = DoseStatus.taken if action is Action.taken else DoseStatus.skipped
    occ.outcome_at = now
    occ.outcome_source = source
    occ.remind_at = None
    if action is Action.taken and dose.medication.supply_count:
        dose.medication.supply_count -= 1
        _check_supply(db, dose, now)
    return True


def _check_supply(db: Session, dose: Dose, now: datetime) -> None:
    """When this dose took the supply below the refill threshold: tell patient and team."""
    med = dose.medication
    row = db.get(DoseSchedule, dose.occurrence.schedule_id)
    per_day = doses_per_day(row) if row else 0.0
    if med.refill_days is None or med.supply_count is None or not per_day:
        return
    days_left = med.supply_count / per_day
    if not days_left < med.refill_days <= (med.supply_count + 1) / per_day:
        return
    patient = get_row(db, Patient, med.patient_id, "patient")
    text = texts.t("refill.due", patient.language, count=med.supply_count,
                   medication=med.label, days=formats.number(days_left, patient.language))
    db.add(OutboxMessage(patient_id=med.patient_id, kind=MessageKind.refill,
                         priority=PRIORITY[MessageKind.refill], text=text, not_before=now))
    alerts.raise_alert(db, patient=patient, kind=AlertKind.refill,
                       summary=texts.t("alert.refill", medication=med.label,
                                       days=f"{days_left:.1f}"))


def find(db: Session, *, patient_id: int, occurrence_id: int) -> Dose | None:
    """A dose of this patient's (never another's) by occurrence id."""
    row = db.exec(select(DoseOccurrence, Medication)
                  .join(Medication, col(Medication.id) == DoseOccurrence.medication_id)
                  .where(DoseOccurrence.id == occurrence_id,
                         DoseOccurrence.patient_id == patient_id)).first()
    return Dose(*row) if row else None


def parse_dose_button(data: str) -> tuple[int, Action] | None:
    """`dose:12:taken` → (12, Action.taken); anything else → None."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "dose" or not parts[1].isdigit():
        return None
    try:
        return int(parts[1]), Action(parts[2])
    except ValueError:
        return None


def apply_dose_button(db: Session, *, patient_id: int, data: str, snooze_minutes: int,
                      language: str | None = None) -> str | None:
    """Record a reminder button's answer for this patient's dose; the text to show, or None
    when the button is not a dose button of theirs."""
    parsed = parse_dose_button(data)
    dose = find(db, patient_id=patient_id, occurrence_id=parsed[0]) if parsed else None
    if parsed is None or dose is None:
        return None
    action = parsed[1]
    recorded = record(db, dose, action, source="button", snooze_minutes=snooze_minutes)
    return outcome(dose.medication, action, recorded=recorded, snooze_minutes=snooze_minutes,
                   language=language)


@dataclass(frozen=True)
class PlannedDose:
    due: datetime
    medication: Medication
    status: DoseStatus


def day_plan(db: Session, patient: Patient, day_offset: int = 0,
             now: datetime | None = None, *, day: date | None = None) -> list[PlannedDose]:
    """The patient's doses on a local day (`day`; else today, or `day_offset` days away),
    with the outcome recorded so far."""
    now = now or utcnow()
    tz = zones.zone(patient.timezone)
    local_day = day or now.astimezone(tz).date() + timedelta(days=day_offset)
    start = dues.to_utc(local_day, datetime.min.time(), tz)
    end = dues.to_utc(local_day + timedelta(days=1), datetime.min.time(), tz)
    plan: list[PlannedDose] = []
    for med, _ in medications.medications(db, patient.id):
        statuses: dict[int, dict[datetime, DoseStatus]] = {}
        for due, row in medications.dues(db, med.id, tz, start, end):
            known = statuses.setdefault(row.id, _statuses(db, row, start, end))
            plan.append(PlannedDose(due, med, known.get(due, DoseStatus.planned)))
    return sorted(plan, key=lambda p: (p.due, p.medication.name))


def _statuses(db: Session, row: DoseSchedule, start: datetime,
              end: datetime) -> dict[datetime, DoseStatus]:
    occs = db.exec(select(DoseOccurrence).where(DoseOccurrence.schedule_id == row.id,
                                                DoseOccurrence.due_at >= start,
                                                DoseOccurrence.due_at < end)).all()
    return {occ.due_at: occ.status for occ in occs}


@dataclass(frozen=True)
class Adherence(Tally):
    days: int
    taken: int
    skipped: int
    missed: int
    missed_doses: list[tuple[datetime, str]]


def adherence(db: Session, patient_id: int, days: int, now: datetime | None = None) -> Adherence:
    """Taken / (taken + skipped + missed) over the last `days` days."""
    now = now or utcnow()
    rows = db.exec(
        select(DoseOccurrence, Medication)
        .join(Medication, col(Medication.id) == DoseOccurrence.medication_id)
        .where(DoseOccurrence.patient_id == patient_id,
               DoseOccurrence.due_at >= now - timedelta(days=days),
               DoseOccurrence.due_at <= now,
               col(DoseOccurrence.status).in_(
                   [DoseStatus.taken, DoseStatus.skipped, DoseStatus.missed]))
        .order_by(col(DoseOccurrence.due_at))
    ).all()
    count = {status: 0 for status in (DoseStatus.taken, DoseStatus.skipped, DoseStatus.missed)}
    missed: list[tuple[datetime, str]] = []
    for occ, med in rows:
        count[occ.status] += 1
        if occ.status == DoseStatus.missed:
            missed.append((occ.due_at, med.label))
    return Adherence(days, count[DoseStatus.taken], count[DoseStatus.skipped],
                     count[DoseStatus.missed], missed)
