"""The REST API, `/api/v1`: a member's API token sees only their own team's patients.

Every read or change of patient data is written to the audit log. Bad input is a 422
naming the field; nothing is half-written (one unit of work per request).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel
from sqlmodel import Session, col, select

from assistant.channels import registry
from assistant.config import get_settings
from assistant.domain.days import DAY_CODES
from assistant.errors import InvalidInput, InvalidSchedule
from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.deps import DB, ApiCaller, Id, OptionalId, api_caller, require_admin
from assistant.interfaces.web.jsonbody import StrictJSONRoute
from assistant.services import (
    advice,
    alerts,
    audit,
    doses,
    enrolment,
    fhir,
    medications,
    occurrences,
    patients,
    privacy,
    readings,
    replies,
    views,
)
from assistant.services.accounts import Caller
from assistant.services.readings import check_thresholds
from assistant.storage.db import utcnow
from assistant.storage.models import (
    AlertStatus,
    CareTeam,
    DoseOccurrence,
    DoseSchedule,
    Medication,
    Patient,
)

router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_caller)],
                   route_class=StrictJSONRoute)
NO_CONTENT = Response(status_code=204)


def _patient(db: Session, caller: Caller, patient_id: int, what: str) -> Patient:
    """The caller's team's patient, and an audit entry saying what was read."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    audit.record_read(db, actor=caller.actor, action=what, patient_id=patient.id)
    return patient


def _fields(row: Any, schema: type[BaseModel]) -> dict[str, Any]:
    """The row's attributes that the response schema has."""
    return {name: getattr(row, name) for name in schema.model_fields if hasattr(row, name)}


def _patient_out(db: Session, patient: Patient) -> s.PatientOut:
    return s.PatientOut(
        **_fields(patient, s.PatientOut),
        chat=views.chat_status(db, patient.id),
        adherence_7=doses.adherence(db, patient.id, 7).percent,
        adherence_30=doses.adherence(db, patient.id, 30).percent,
        open_alerts=len(alerts.alerts(db, patient.team_id, patient_id=patient.id,
                                    status=AlertStatus.open)))


def _schedule_out(row: DoseSchedule | None) -> s.ScheduleOut | None:
    if row is None:
        return None
    days = None if row.days_of_week is None else [DAY_CODES[d] for d in row.days_of_week]
    return s.ScheduleOut(times=row.times_of_day, days=days,
                         every_n_days=row.every_n_days, start_date=row.start_date,
                         end_date=row.end_date, count=row.count, as_needed=row.as_needed)


def _medication_out(db: Session, med: Medication) -> s.MedicationOut:
    rows = medications.active_schedules(db, med.id)
    return s.MedicationOut(**_fields(med, s.MedicationOut),
                           schedule=_schedule_out(rows[-1] if rows else None))


# Patients -----------------------------------------------------------------------------

@router.get("/patients", response_model=list[s.PatientOut], tags=["patients"])
def list_patients(db: DB, caller: ApiCaller, search: str = Query("", max_length=120),
                  sort: str = Query("risk", pattern="^(risk|name|adherence|last_contact)$")
                  ) -> list[s.PatientOut]:
    """The team's patients, the most at risk first (urgent alerts, open alerts, adherence)."""
    found = views.summaries(db, caller.team_id, search=search, sort=sort)
    audit.record_read(db, actor=caller.actor, action="patients.list",
                      detail=f"{len(found)} rows")
    return [_patient_out(db, row.patient) for row in found]


@router.post("/patients", response_model=s.PatientOut, status_code=201, tags=["patients"])
def create_patient(db: DB, caller: ApiCaller, body: s.PatientIn) -> s.PatientOut:
    team = db.get(CareTeam, caller.team_id)
    assert team is not None
    patient = patients.add_patient(db, team=team, name=body.display_name,
                                   timezone=body.timezone or get_settings().timezone,
                                   language=body.language, conditions=body.conditions,
                                   goals=body.goals, actor=caller.actor)
    return _patient_out(db, patient)


@router.get("/patients/{patient_id}", response_model=s.PatientOut, tags=["patients"])
def get_patient(db: DB, caller: ApiCaller, patient_id: Id) -> s.PatientOut:
    return _patient_out(db, _patient(db, caller, patient_id, "patient.view"))


@router.patch("/patients/{patient_id}", response_model=s.PatientOut, tags=["patients"])
def update_patient(db: DB, caller: ApiCaller, patient_id: Id,
                   body: s.PatientPatch) -> s.PatientOut:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    patients.update_profile(db, patient, body.model_dump(exclude_unset=True),
                            actor=caller.actor)
    return _patient_out(db, patient)


@router.get("/patients/{patient_id}/export", tags=["patients"])
def export_patient(db: DB, caller: ApiCaller, patient_id: Id) -> dict[str, Any]:
    """Everything CareLoop holds about the patient, as JSON a person can read."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    return privacy.export(db, patient, actor=caller.actor)


@router.delete("/patients/{patient_id}", status_code=204, tags=["patients"])
def erase_patient(db: DB, caller: ApiCaller, patient_id: Id) -> Response:
    """Erase the patient and all their data (admins only); the audit log keeps only that
    it happened."""
    require_admin(caller)
    privacy.erase(db, patients.get_patient(db, patient_id, team_id=caller.team_id),
                  actor=caller.actor)
    return NO_CONTENT


@router.post("/patients/{patient_id}/enrolment-codes", response_model=s.EnrolmentOut,
             status_code=201, tags=["patients"])
def issue_enrolment_code(db: DB, caller: ApiCaller, patient_id: Id,
                         body: s.EnrolmentIn | None = None) -> s.EnrolmentOut:
    """A one-time code linking the patient's chat, with the link that opens the chat with
    it (none when no channel has links); only the code's hash is stored."""
    settings = get_settings()
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    issued = enrolment.issue_code(db, patient=patient, actor=caller.actor,
                                  hours=(body and body.hours) or settings.enrolment_code_hours)
    return s.EnrolmentOut(code=issued.code, expires_at=issued.expires_at,
                          link=registry.enrolment_link(settings, issued.code))


@router.post("/patients/{patient_id}/messages", status_code=202, tags=["patients"])
def message_patient(db: DB, caller: ApiCaller, patient_id: Id,
                    body: s.MessageIn) -> dict[str, int]:
    """Send the patient a message from the care team through the assistant."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    return {"outbox_id": replies.reply(db, patient, body.text, actor=caller.actor).id}


# Medications and schedules -------------------------------------------------------------

@router.get("/patients/{patient_id}/medications", response_model=list[s.MedicationOut],
            tags=["medications"])
def list_medications(db: DB, caller: ApiCaller, patient_id: Id,
                     include_stopped: bool = False) -> list[s.MedicationOut]:
    patient = _patient(db, caller, patient_id, "medications.view")
    query = select(Medication).where(Medication.patient_id == patient.id)
    if not include_stopped:
        query = query.where(Medication.active)
    return [_medication_out(db, med) for med in db.exec(query.order_by(col(Medication.name)))]


@router.post("/patients/{patient_id}/medications", response_model=s.MedicationOut,
             status_code=201, tags=["medications"])
def add_medication(db: DB, caller: ApiCaller, patient_id: Id,
                   body: s.MedicationIn) -> s.MedicationOut:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    try:
        med = medications.add_medication(db, patient=patient, actor=caller.actor,
                                      schedule=body.schedule.spec(),
                                      **body.model_dump(exclude={"schedule"}))
    except InvalidSchedule as exc:
        raise InvalidInput(f"schedule.{exc}") from None  # the field is inside `schedule`
    return _medication_out(db, med)


@router.post("/patients/{patient_id}/medications/fhir", response_model=s.MedicationOut,
             status_code=201, tags=["medications"])
def import_fhir(db: DB, caller: ApiCaller, patient_id: Id,
                resource: Annotated[dict[str, Any], Body(
                    description="a FHIR R4 or R5 MedicationRequest")]) -> s.MedicationOut:
    """A medication and its schedule from a FHIR MedicationRequest's
    `dosageInstruction.timing`; what cannot be represented is refused, saying why."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    med = fhir.import_medication_request(db, patient=patient, payload=resource,
                                         actor=caller.actor)
    return _medication_out(db, med)


@router.patch("/patients/{patient_id}/medications/{medication_id}",
              response_model=s.MedicationOut, tags=["medications"])
def update_medication(db: DB, caller: ApiCaller, patient_id: Id, medication_id: Id,
                      body: s.MedicationPatch) -> s.MedicationOut:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    medications.update_medication(db, med, body.model_dump(exclude_unset=True),
                               actor=caller.actor)
    return _medication_out(db, med)


@router.put("/patients/{patient_id}/medications/{medication_id}/schedule",
            response_model=s.MedicationOut, tags=["medications"])
def replace_schedule(db: DB, caller: ApiCaller, patient_id: Id, medication_id: Id,
                     body: s.ScheduleIn) -> s.MedicationOut:
    """A new schedule: future, unsent reminders of the old one are cancelled."""
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    occurrences.replace_schedule(db, medication=med, schedule=body.spec(), actor=caller.actor)
    return _medication_out(db, med)


@router.delete("/patients/{patient_id}/medications/{medication_id}", status_code=204,
               tags=["medications"])
def stop_medication(db: DB, caller: ApiCaller, patient_id: Id,
                    medication_id: Id) -> Response:
    """Stop a medication: no more reminders; its history stays."""
    occurrences.stop_medication(
        db, medication=patients.medication_of(db, caller.team_id, patient_id, medication_id),
        actor=caller.actor)
    return NO_CONTENT


@router.get("/patients/{patient_id}/week", response_model=s.WeekOut, tags=["medications"])
def weekly_view(db: DB, caller: ApiCaller, patient_id: Id) -> s.WeekOut:
    """The next seven local days and each medication's dose times on them."""
    days, rows = views.week(db, _patient(db, caller, patient_id, "schedule.view"))
    return s.WeekOut(days=days, medications=[vars(row) for row in rows])


# Doses, adherence, readings ------------------------------------------------------------

@router.get("/patients/{patient_id}/doses", response_model=list[s.DoseOut], tags=["doses"])
def dose_history(db: DB, caller: ApiCaller, patient_id: Id,
                 days: int = Query(30, ge=1, le=366)) -> list[s.DoseOut]:
    """Dose occurrences of the last `days` days and the planned ones ahead, newest first."""
    patient = _patient(db, caller, patient_id, "doses.view")
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
    patient = _patient(db, caller, patient_id, "adherence.view")
    return s.AdherenceOut(
        last_7_days=doses.adherence(db, patient.id, 7).percent,
        last_30_days=doses.adherence(db, patient.id, 30).percent,
        daily=[{"day": d.day, "taken": d.taken, "answered": d.answered}
               for d in views.daily_adherence(db, patient)])


@router.get("/patients/{patient_id}/readings", response_model=list[s.ReadingOut],
            tags=["readings"])
def list_readings(db: DB, caller: ApiCaller, patient_id: Id,
                  limit: int = Query(100, ge=1, le=1000)) -> list[Any]:
    return views.readings(db, _patient(db, caller, patient_id, "readings.view"), limit)


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


# Alerts ----------------------------------------------------------------------------------

@router.get("/alerts", response_model=list[s.AlertOut], tags=["alerts"])
def list_alerts(db: DB, caller: ApiCaller, status: AlertStatus | None = None,
                patient_id: OptionalId = None) -> list[Any]:
    """Open alerts first, urgent first, newest first."""
    found = alerts.alerts(db, caller.team_id, status=status, patient_id=patient_id)
    audit.record_read(db, actor=caller.actor, action="alerts.list", patient_id=patient_id)
    return found


@router.get("/alerts/{alert_id}", response_model=s.AlertOut, tags=["alerts"])
def get_alert(db: DB, caller: ApiCaller, alert_id: Id) -> Any:
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    audit.record_read(db, actor=caller.actor, action="alert.view",
                      patient_id=alert.patient_id)
    return alert


@router.patch("/alerts/{alert_id}", response_model=s.AlertOut, tags=["alerts"])
def update_alert(db: DB, caller: ApiCaller, alert_id: Id, body: s.AlertPatch) -> Any:
    """Acknowledge, assign or resolve (a note is required to resolve)."""
    return alerts.update_alert(db, alerts.get_alert(db, caller.team_id, alert_id),
                             actor=caller.actor, **body.model_dump(exclude_unset=True))


# Advice ------------------------------------------------------------------------------------

@router.get("/advice", response_model=list[s.AdviceOut], tags=["advice"])
def list_advice(db: DB, caller: ApiCaller) -> list[Any]:
    return advice.advice_items(db, caller.team_id)


@router.post("/advice", response_model=s.AdviceOut, status_code=201, tags=["advice"])
def add_advice(db: DB, caller: ApiCaller, body: s.AdviceIn) -> Any:
    return advice.save_advice(db, caller.team_id, actor=caller.actor, **body.model_dump())


@router.put("/advice/{advice_id}", response_model=s.AdviceOut, tags=["advice"])
def replace_advice(db: DB, caller: ApiCaller, advice_id: Id, body: s.AdviceIn) -> Any:
    return advice.save_advice(db, caller.team_id, actor=caller.actor,
                            item=advice.get_advice(db, caller.team_id, advice_id),
                            **body.model_dump())


# Team ----------------------------------------------------------------------------------------

@router.get("/team", response_model=s.TeamOut, tags=["team"])
def get_team(db: DB, caller: ApiCaller) -> Any:
    return db.get(CareTeam, caller.team_id)


@router.patch("/team", response_model=s.TeamOut, tags=["team"])
def update_team(db: DB, caller: ApiCaller, body: s.TeamPatch) -> Any:
    """Team settings (admins only)."""
    require_admin(caller)
    team = db.get(CareTeam, caller.team_id)
    assert team is not None
    changes = body.model_dump(exclude_unset=True)
    for key in ("missed_alert_after", "self_shift_minutes"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key}: cannot be removed, only changed")
    if "reading_thresholds" in changes:
        changes["reading_thresholds"] = check_thresholds(
            {k: {b: v for b, v in bounds.items() if v is not None}
             for k, bounds in (changes["reading_thresholds"] or {}).items()})
    for key, value in changes.items():
        setattr(team, key, value)
    db.add(team)
    audit.record(db, actor=caller.actor, action="team.update", detail=", ".join(sorted(changes)))
    return team


@router.get("/audit", response_model=list[s.AuditOut], tags=["team"])
def audit_log(db: DB, caller: ApiCaller, patient_id: OptionalId = None,
              limit: int = Query(500, ge=1, le=10000)) -> list[Any]:
    """Who read or changed what, newest first (admins only)."""
    require_admin(caller)
    return audit.audit_entries(db, caller.team_id, patient_id=patient_id, limit=limit)

