"""The audit log: who read or changed which patient's data, and when, for which team."""

from __future__ import annotations

from sqlmodel import Session

from assistant.models import AuditEntry, Patient, TeamMember


def _team_of(db: Session, actor: str, patient_id: int | None) -> int | None:
    """The team that may read the entry: the acting member's, else the patient's."""
    kind, _, number = actor.partition(":")
    if kind == "member" and number.isdigit():
        member = db.get(TeamMember, int(number))
        if member is not None:
            return member.team_id
    patient = db.get(Patient, patient_id) if patient_id is not None else None
    return patient.team_id if patient is not None else None


def record(db: Session, *, actor: str, action: str, patient_id: int | None = None,
           detail: str = "", team_id: int | None = None) -> None:
    """Add an entry to the unit of work; it commits (or not) with the change it describes.
    `team_id` when neither the actor (a member) nor the patient names the team."""
    if team_id is None:
        team_id = _team_of(db, actor, patient_id)
    db.add(AuditEntry(actor=actor, action=action, patient_id=patient_id, team_id=team_id,
                      detail=detail[:500]))
