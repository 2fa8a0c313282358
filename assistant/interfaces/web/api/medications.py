"""API: a patient's medications and their schedules (FHIR MedicationRequest import too),
and the week ahead."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query, Response
from sqlmodel import col, select

from assistant.errors import InvalidInput, InvalidSchedule
from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import NO_CONTENT, audited_patient, medication_out, router
from assistant.interfaces.web.deps import DB, ApiCaller, Id
from assistant.services import fhir, medication_stops, medications, occurrences, patients, views
from assistant.storage.models import Medication


@router.get("/patients/{patient_id}/medications", response_model=list[s.MedicationOut],
            tags=["medications"])
def list_medications(db: DB, caller: ApiCaller, patient_id: Id,
                     include_stopped: bool = False) -> list[s.MedicationOut]:
    patient = audited_patient(db, caller, patient_id, "medications.view")
    query = select(Medication).where(Medication.patient_id == patient.id)
    if not include_stopped:
        query = query.where(Medication.active)
    return [medication_out(db, med) for med in db.exec(query.order_by(col(Medication.name)))]


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
    return medication_out(db, med)


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
    return medication_out(db, med)


@router.patch("/patients/{patient_id}/medications/{medication_id}",
              response_model=s.MedicationOut, tags=["medications"])
def update_medication(db: DB, caller: ApiCaller, patient_id: Id, medication_id: Id,
                      body: s.MedicationPatch) -> s.MedicationOut:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    medications.update_medication(db, med, body.model_dump(exclude_unset=True),
                               actor=caller.actor)
    return medication_out(db, med)


@router.put("/patients/{patient_id}/medications/{medication_id}/schedule",
            response_model=s.MedicationOut, tags=["medications"])
def replace_schedule(db: DB, caller: ApiCaller, patient_id: Id, medication_id: Id,
                     body: s.ScheduleIn) -> s.MedicationOut:
    """A new schedule: future, unsent reminders of the old one are cancelled."""
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    occurrences.replace_schedule(db, medication=med, schedule=body.spec(), actor=caller.actor)
    return medication_out(db, med)


@router.post("/patients/{patient_id}/medications/{medication_id}/stop",
             response_model=s.MedicationOut, tags=["medications"])
def stop_medication(db: DB, caller: ApiCaller, patient_id: Id, medication_id: Id,
                    body: s.StopIn) -> s.MedicationOut:
    """Stop a medication, saying why: no more reminders; its history stays, with the
    reason, who and when (`stop_reason`, `stopped_by`, `stopped_at`)."""
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    medication_stops.stop(db, med, reason=body.reason, by=caller.member.name,
                          actor=caller.actor)
    return medication_out(db, med)


@router.delete("/patients/{patient_id}/medications/{medication_id}", status_code=204,
               tags=["medications"])
def stop_medication_alias(db: DB, caller: ApiCaller, patient_id: Id, medication_id: Id,
                          reason: Annotated[str, Query(min_length=1, max_length=500)]
                          ) -> Response:
    """The same as POST …/stop, with the (required) reason as a query parameter."""
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    medication_stops.stop(db, med, reason=reason, by=caller.member.name, actor=caller.actor)
    return NO_CONTENT


@router.get("/patients/{patient_id}/week", response_model=s.WeekOut, tags=["medications"])
def weekly_view(db: DB, caller: ApiCaller, patient_id: Id) -> s.WeekOut:
    """The next seven local days and each medication's dose times on them."""
    days, rows = views.week(db, audited_patient(db, caller, patient_id, "schedule.view"))
    return s.WeekOut(days=days, medications=[vars(row) for row in rows])
