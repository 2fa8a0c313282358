"""API: a patient's dose history and adherence, and their readings (one or a batch)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Query
from sqlmodel import col, select

from assistant.errors import InvalidInput
from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import audited_patient, router
from assistant.interfaces.web.deps import DB, ApiCaller, Id
from assistant.services import doses, patients, readings, views
from assistant.storage.db import utcnow
from assistant.storage.models import DoseOccurrence, Medication


@router.get("/patients/{patient_id}/doses", response_model=list[s.DoseOut], tags=["doses"])
def dose_history(db: DB, caller: ApiCaller, patient_id: Id,
                 days: int = Query(30, ge=1, le=366)) -> list[s.DoseOut]:
    """Dose occurrences of the last `days` days and the planned ones ahead, newest first."""
    patient = audited_patient(db, caller, patient_id, "doses.view")
    rows = db.exec(select(DoseOccurrence, Medication)
                   .join(Medication, col(Medication.id) == DoseOccurrence.medication_id)
                   .where(DoseOccurrence.patient_id == patient.id,
                          DoseOccurrence.due_at >= utcnow() - timedelta(days=days))
                   .order_by(col(DoseOccurrence.due_at).desc())).all()
    return [s.DoseOut(id=occ.id, medication_id=med.id, medication=med.label, due_at=occ.due_at,
                      status=occ.status, outcome_at=occ.outcome_at,
                      outcome_source=occ.outcome_source) for occ, med in rows]


@router.get("/patients/{patient_id}/adherence", response_model=s.AdherenceOut, tags=["doses"])
def adherence(db: DB, caller: ApiCaller, patient_id: Id) -> s.AdherenceOut:
    patient = audited_patient(db, caller, patient_id, "adherence.view")
    return s.AdherenceOut(
        last_7_days=doses.adherence(db, patient.id, 7).percent,
        last_30_days=doses.adherence(db, patient.id, 30).percent,
        daily=[{"day": d.day, "taken": d.taken, "answered": d.answered}
               for d in views.daily_adherence(db, patient)])


@router.get("/patients/{patient_id}/readings", response_model=list[s.ReadingOut],
            tags=["readings"])
def list_readings(db: DB, caller: ApiCaller, patient_id: Id,
                  limit: int = Query(100, ge=1, le=1000)) -> list[Any]:
    return views.readings(db, audited_patient(db, caller, patient_id, "readings.view"), limit)


@router.post("/patients/{patient_id}/readings", response_model=s.ReadingOut, status_code=201,
             tags=["readings"])
def add_reading(db: DB, caller: ApiCaller, patient_id: Id, body: s.ReadingIn) -> Any:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    return readings.record(db, patient=patient, actor=caller.actor, **body.model_dump())


@router.post("/patients/{patient_id}/readings/batch", response_model=list[s.ReadingOut],
             status_code=201, tags=["readings"])
def add_readings(db: DB, caller: ApiCaller, patient_id: Id, body: s.ReadingBatch) -> list[Any]:
    """Readings from a device or wearable: all are stored, or none (the error names the
    first bad one)."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    stored = []
    for n, item in enumerate(body.readings):
        try:
            stored.append(readings.record(db, patient=patient, actor=caller.actor,
                                          **item.model_dump()))
        except InvalidInput as exc:
            raise InvalidInput(f"readings.{n}.{exc}") from None
    return stored
