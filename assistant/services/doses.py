"""Dose outcomes, today's plan and adherence: what the patient did about each dose.

Used by the chat actions, the reminder buttons and the care-team console. Recording
an outcome is idempotent: a dose already answered keeps its first answer.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select

from assistant.domain import schedules
from assistant.services import patients
from assistant.storage.db import utcnow
from assistant.storage.models import (
    OPEN_DOSE_STATUSES,
    PRIORITY,
    Alert,
    AlertKind,
    AlertSeverity,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
)

# A dose can be answered from this long before it is due ("I just took it") ...
EARLY_WINDOW = timedelta(hours=2)
# ... until this long after, when it was not reminded yet or the reminder went unanswered.
LATE_WINDOW = timedelta(hours=12)


class Action(StrEnum):
    taken = "taken"
    skip = "skip"
    snooze = "snooze"


@dataclass(frozen=True)
class Dose:
    occurrence: DoseOccurrence
    medication: Medication

    @property
    def id(self) -> int:
        return self.occurrence.id


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


def match_medication(name: str, candidates: Sequence[Medication]) -> list[Medication]:
    """Medications whose name matches what the patient typed, typos included."""
    wanted = name.strip().lower()
    if not wanted:
        return []
    names = {med.name.lower(): med for med in candidates}
    exact = [med for key, med in names.items() if wanted in key or key in wanted]
    if exact:
        return exact
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.7)
    return [names[key] for key in close]


def choose(doses: list[Dose], medication: str | None) -> list[Dose]:
    """The dose meant: one when it is clear, several to ask between, none if nothing fits."""
    if medication:
        meds = match_medication(medication, [d.medication for d in doses])
        doses = [d for d in doses if d.medication in meds]
    if not doses:
        return []
    first = doses[0]
    # Reminded doses beat merely planned ones; several reminded doses of different
    # medications are ambiguous.
    same_rank = [d for d in doses if (d.occurrence.status == DoseStatus.planned)
                 == (first.occurrence.status == DoseStatus.planned)]
    by_med = {d.medication.id: d for d in reversed(same_rank)}
    return [first] if len(by_med) == 1 else list(by_med.values())


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


def doses_per_day(row: DoseSchedule) -> float:
    """The schedule's average doses a day (0 for as-needed)."""
    if row.as_needed:
        return 0.0
    share_of_days = len(row.days_of_week) / 7 if row.days_of_week is not None else 1.0
    return len(row.times_of_day) * share_of_days / row.every_n_days


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
    text = (f"💊 You have {med.supply_count} doses of {med.label} left, about "
            f"{days_left:.1f} days. Please arrange a refill.")
    db.add(OutboxMessage(patient_id=med.patient_id, kind=MessageKind.refill,
                         priority=PRIORITY[MessageKind.refill], text=text, not_before=now))
    patient = db.get(Patient, med.patient_id)
    assert patient is not None
    db.add(Alert(patient_id=med.patient_id, team_id=patient.team_id, kind=AlertKind.refill,
                 severity=AlertSeverity.normal,
                 summary=f"{med.label}: about {days_left:.1f} days of supply left."))


def find(db: Session, *, patient_id: int, occurrence_id: int) -> Dose | None:
    """A dose of this patient's (never another's) by occurrence id."""
    row = db.exec(select(DoseOccurrence, Medication)
                  .join(Medication, col(Medication.id) == DoseOccurrence.medication_id)
                  .where(DoseOccurrence.id == occurrence_id,
                         DoseOccurrence.patient_id == patient_id)).first()
    return Dose(*row) if row else None


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
    tz = schedules.zone(patient.timezone)
    local_day = day or now.astimezone(tz).date() + timedelta(days=day_offset)
    start = schedules.to_utc(local_day, datetime.min.time(), tz)
    end = schedules.to_utc(local_day + timedelta(days=1), datetime.min.time(), tz)
    plan: list[PlannedDose] = []
    for med, _ in patients.medications(db, patient.id):
        statuses: dict[int, dict[datetime, DoseStatus]] = {}
        for due, row in patients.dues(db, med.id, tz, start, end):
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
class Adherence:
    days: int
    taken: int
    skipped: int
    missed: int
    missed_doses: list[tuple[datetime, str]]

    @property
    def answered(self) -> int:
        return self.taken + self.skipped + self.missed

    @property
    def percent(self) -> int | None:
        return round(100 * self.taken / self.answered) if self.answered else None


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
