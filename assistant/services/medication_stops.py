"""Stopping a medication and restarting it: a stop says why (a FHIR `statusReason`-like
reason, one of the common ones and/or free text), who and when; a restart undoes it with
the schedule the medication had. Both leave an audit entry the patient's activity names."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from assistant.domain.fields import clean_text
from assistant.domain.schedule_specs import schedule_row, timing_of
from assistant.errors import InvalidInput
from assistant.services import audit, occurrences
from assistant.storage.db import utcnow
from assistant.storage.models import DoseSchedule, Medication

REASONS = ("completed course", "side effects", "changed by prescriber", "patient declined",
           "entered in error")


def reason_of(choice: str, other: str = "") -> str:
    """The reason as stored: a common reason, free text, or both ("side effects: rash").
    Refused when there is neither."""
    choice, other = choice.strip(), clean_text(other or "", "reason", 400, required=False)
    if choice and choice not in REASONS:
        raise InvalidInput(f"reason: choose one of {', '.join(REASONS)}, or write the reason")
    if not (choice or other):
        raise InvalidInput("reason: say why the medicine is stopped")
    return f"{choice}: {other}" if choice and other else choice or other


def stop(db: Session, medication: Medication, *, reason: str, by: str, actor: str,
         now: datetime | None = None) -> None:
    """Stop a medication for `reason` (required), by the member named `by`: no more
    reminders; its history stays."""
    reason = clean_text(reason, "reason", 500)
    if not medication.active:
        raise InvalidInput("reason: this medicine is already stopped")
    occurrences.stop_medication(db, medication=medication, actor=actor, reason=reason,
                                stopped_by=clean_text(by, "stopped by", 120), now=now)


def restart(db: Session, medication: Medication, *, actor: str,
            now: datetime | None = None) -> None:
    """Undo a stop: the medication is active again with its last schedule, reminded from
    now on (doses due while it was stopped are not reminded)."""
    if medication.active:
        raise InvalidInput("this medicine is not stopped")
    now = now or utcnow()
    last = last_schedule(db, medication.id)
    medication.active = True
    medication.stopped_at = medication.stop_reason = medication.stopped_by = None
    db.add(medication)
    if last is not None:
        db.add(schedule_row(medication.id, timing_of(last), written_at=now))
    db.flush()
    audit.record(db, actor=actor, action="medication.restart", patient_id=medication.patient_id,
                 detail=f"medication {medication.id}")


def last_schedule(db: Session, medication_id: int) -> DoseSchedule | None:
    """The schedule a medication had last (the one a restart takes up again)."""
    return db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication_id)
                   .order_by(col(DoseSchedule.id).desc())).first()


def stopped(db: Session, patient_id: int) -> list[Medication]:
    """The patient's stopped medications, the latest stop first."""
    return list(db.exec(select(Medication).where(
        Medication.patient_id == patient_id, col(Medication.active).is_(False))
        .order_by(col(Medication.stopped_at).desc(), col(Medication.id).desc())).all())
