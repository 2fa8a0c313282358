"""The scheduler's missing-data step: for every active patient whose care plan expects
readings (a target with `expect_every_hours`, the patient's or the team's default), the
cadence detector runs; a patient who sent none for the set time is nudged once in chat,
then the team is alerted (`services.monitoring.check_missing`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from assistant.services import monitoring
from assistant.storage.db import utcnow
from assistant.storage.models import MeasureTarget, Patient, PatientStatus

EVERY_SECONDS = 300  # a missed daily reading is news in hours, not seconds


def expecting(db: Session) -> list[Patient]:
    """Active patients whose plan expects readings."""
    rows = db.exec(select(MeasureTarget.team_id, MeasureTarget.patient_id).where(
        col(MeasureTarget.expect_every_hours).is_not(None))).all()
    teams = {team for team, patient in rows if patient is None}
    own = {patient for _, patient in rows if patient is not None}
    if not teams and not own:
        return []
    return list(db.exec(select(Patient).where(
        Patient.status == PatientStatus.active,
        col(Patient.team_id).in_(teams) | col(Patient.id).in_(own))
        .order_by(col(Patient.id))).all())


def check_missing_data(db: Session, *, now: datetime | None = None) -> int:
    """One pass over the patients; returns how many nudges were queued."""
    now = now or utcnow()
    return sum(monitoring.check_missing(db, patient=patient, now=now)
               for patient in expecting(db))
