"""API: a team's patients: list, create, read, change, export, erase, enrolment codes,
messages from the team."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response

from assistant.channels import registry
from assistant.config import get_settings
from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import NO_CONTENT, audited_patient, patient_out, router
from assistant.interfaces.web.deps import DB, ApiCaller, Id, require_admin
from assistant.services import audit, enrolment, patients, privacy, replies, teams, views


@router.get("/patients", response_model=list[s.PatientOut], tags=["patients"])
def list_patients(db: DB, caller: ApiCaller, search: str = Query("", max_length=120),
                  sort: str = Query(
                      "risk", pattern="^(risk|monitoring|name|adherence|last_contact)$")
                  ) -> list[s.PatientOut]:
    """The team's patients, the most at risk first (urgent alerts, open alerts, adherence);
    `sort=monitoring`: by what their readings say (urgent, then high monitoring alerts,
    then trends and forecasts, then readings out of range in the last 3 days)."""
    found = views.summaries(db, caller.team_id, search=search, sort=sort)
    audit.record_read(db, actor=caller.actor, action="patients.list",
                      detail=f"{len(found)} rows")
    return [patient_out(db, row.patient) for row in found]


@router.post("/patients", response_model=s.PatientOut, status_code=201, tags=["patients"])
def create_patient(db: DB, caller: ApiCaller, body: s.PatientIn) -> s.PatientOut:
    team = teams.get_team(db, caller.team_id)
    patient = patients.add_patient(db, team=team, name=body.display_name,
                                   timezone=body.timezone or team.timezone,
                                   language=body.language, conditions=body.conditions,
                                   goals=body.goals, born=body.birth_date,
                                   record=body.record_number, actor=caller.actor)
    return patient_out(db, patient)


@router.get("/patients/{patient_id}", response_model=s.PatientOut, tags=["patients"])
def get_patient(db: DB, caller: ApiCaller, patient_id: Id) -> s.PatientOut:
    return patient_out(db, audited_patient(db, caller, patient_id, "patient.view"))


@router.patch("/patients/{patient_id}", response_model=s.PatientOut, tags=["patients"])
def update_patient(db: DB, caller: ApiCaller, patient_id: Id,
                   body: s.PatientPatch) -> s.PatientOut:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    patients.update_profile(db, patient, body.model_dump(exclude_unset=True),
                            actor=caller.actor)
    return patient_out(db, patient)


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
