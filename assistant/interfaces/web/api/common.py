"""What the API's resource modules share: the one router (`/api/v1`, callers with an API
token, strict JSON bodies) their routes join, the caller's patient (audited), and the
response shapes of a patient and a medication."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from sqlmodel import Session

from assistant.domain.days import DAY_CODES
from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.deps import api_caller
from assistant.interfaces.web.jsonbody import StrictJSONRoute
from assistant.services import alerts, audit, doses, medications, patients, views
from assistant.services.accounts import Caller
from assistant.storage.models import AlertStatus, DoseSchedule, Medication, Patient

router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_caller)],
                   route_class=StrictJSONRoute)
NO_CONTENT = Response(status_code=204)


def audited_patient(db: Session, caller: Caller, patient_id: int, what: str) -> Patient:
    """The caller's team's patient, and an audit entry saying what was read."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    audit.record_read(db, actor=caller.actor, action=what, patient_id=patient.id)
    return patient


def fields(row: Any, schema: type[BaseModel]) -> dict[str, Any]:
    """The row's attributes that the response schema has."""
    return {name: getattr(row, name) for name in schema.model_fields if hasattr(row, name)}


def patient_out(db: Session, patient: Patient) -> s.PatientOut:
    return s.PatientOut(
        **fields(patient, s.PatientOut),
        chat=views.chat_status(db, patient.id),
        adherence_7=doses.adherence(db, patient.id, 7).percent,
        adherence_30=doses.adherence(db, patient.id, 30).percent,
        open_alerts=len(alerts.alerts(db, patient.team_id, patient_id=patient.id,
                                    status=AlertStatus.open)))


def summary_out(row: views.PatientSummary) -> s.PatientOut:
    """A patient of the list, from what the list gathered (no query of its own)."""
    today = row.today
    return s.PatientOut(
        **fields(row.patient, s.PatientOut), chat=row.chat, adherence_7=row.adherence_7,
        adherence_30=row.adherence_30, open_alerts=row.open_alerts,
        urgent_alerts=row.urgent_alerts, reasons=list(row.reasons),
        missed_in_a_row=row.missed_in_a_row,
        today=s.TodayOut(due=today.due, answered=today.answered, missed=today.missed,
                         pending=today.pending))


def _schedule_out(row: DoseSchedule | None) -> s.ScheduleOut | None:
    if row is None:
        return None
    days = None if row.days_of_week is None else [DAY_CODES[d] for d in row.days_of_week]
    return s.ScheduleOut(times=row.times_of_day, days=days,
                         every_n_days=row.every_n_days, start_date=row.start_date,
                         end_date=row.end_date, count=row.count, as_needed=row.as_needed)


def medication_out(db: Session, med: Medication) -> s.MedicationOut:
    rows = medications.active_schedules(db, med.id)
    return s.MedicationOut(**fields(med, s.MedicationOut),
                           schedule=_schedule_out(rows[-1] if rows else None))
