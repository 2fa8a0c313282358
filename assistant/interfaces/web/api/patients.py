"""API: a team's patients: list, create, read, change, export, erase, enrolment codes,
messages from the team."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response

from assistant.channels import registry
from assistant.config import get_settings
from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import (
    NO_CONTENT,
    audited_patient,
    patient_out,
    router,
    summary_out,
)
from assistant.interfaces.web.deps import DB, ApiCaller, Id, require_admin
from assistant.services import audit, enrolment, patients, privacy, replies, teams, ward


@router.get("/patients", response_model=list[s.PatientOut], tags=["patients"])
def list_patients(db: DB, caller: ApiCaller, response: Response,
                  search: str = Query("", max_length=120, description="a name or record number"),
                  sort: str = Query(
                      "risk", pattern="^(risk|monitoring|name|adherence|last_contact)$"),
                  only: str = Query("", pattern="^(|not_linked|unreachable|paused|urgent|"
                                    "missed_today)$", description="one filter"),
                  offset: int = Query(0, ge=0), limit: int = Query(500, ge=1, le=500)
                  ) -> list[s.PatientOut]:
    """The team's patients, the most at risk first, each with the `reasons` (urgent alerts
    first, then a clinical score: adherence this week, doses missed in a row and today,
    readings out of range, open alerts, chat; the README's "Most at risk first");
    `sort=monitoring`: by what their readings say. A page of `limit` from `offset`; the
    header `X-Total-Count` says how many match."""
    found = ward.ward(db, caller.team_id, search=search, sort=sort, only=only,
                      offset=offset, limit=limit)
    audit.record_list_view(db, actor=caller.actor, action="patients.list",
                           patient_ids=[r.patient.id for r in found.rows])
    response.headers["X-Total-Count"] = str(found.total)
    return [summary_out(row) for row in found.rows]


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
