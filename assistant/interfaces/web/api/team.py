"""API: the team's settings (admins change them), its on-call list, its alert burden and
its audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, MAX_ID, ApiCaller, OptionalId, require_admin
from assistant.services import audit, burden, member_chats, teams
from assistant.storage.models import TeamMember


class OnCallIn(s.In):
    member_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        max_length=teams.MAX_ON_CALL,
        description="active members of the team, in escalation order")


class OnCallOut(BaseModel):
    member_id: int
    name: str
    active: bool        # inactive members stay listed and are skipped
    chat_linked: bool   # a member without a linked chat is skipped too


class BurdenOut(BaseModel):
    patient_id: int | None
    name: str
    patient_weeks: float
    alerts: int
    monitoring_alerts: int
    per_patient_week: float | None
    monitoring_per_patient_week: float | None
    resolved: int
    marked: int
    useful: int
    useful_share: float | None   # of the alerts marked useful or not


class AlertBurdenOut(BaseModel):
    since: datetime
    until: datetime
    team: BurdenOut
    patients: list[BurdenOut]


@router.get("/team", response_model=s.TeamOut, tags=["team"])
def get_team(db: DB, caller: ApiCaller) -> Any:
    return teams.get_team(db, caller.team_id)


@router.patch("/team", response_model=s.TeamOut, tags=["team"])
def update_team(db: DB, caller: ApiCaller, body: s.TeamPatch) -> Any:
    """Team settings (admins only)."""
    require_admin(caller)
    return teams.change_settings(db, teams.get_team(db, caller.team_id),
                                 body.model_dump(exclude_unset=True), actor=caller.actor)


def _on_call(db: Session, team_id: int) -> list[OnCallOut]:
    found = []
    for member_id in teams.get_team(db, team_id).on_call:
        member = db.get(TeamMember, member_id)
        if member is not None:
            found.append(OnCallOut(member_id=member.id, name=member.name, active=member.active,
                                   chat_linked=member_chats.chat_of(db, member.id) is not None))
    return found


@router.get("/team/on-call", response_model=list[OnCallOut], tags=["team"])
def get_on_call(db: DB, caller: ApiCaller) -> Any:
    """The on-call list, in the order an unacknowledged urgent alert climbs it."""
    return _on_call(db, caller.team_id)


@router.put("/team/on-call", response_model=list[OnCallOut], tags=["team"])
def put_on_call(db: DB, caller: ApiCaller, body: OnCallIn) -> Any:
    """Replace the on-call list (admins only)."""
    require_admin(caller)
    teams.set_on_call(db, teams.get_team(db, caller.team_id), body.member_ids,
                      actor=caller.actor)
    return _on_call(db, caller.team_id)


@router.get("/team/alert-burden", response_model=AlertBurdenOut, tags=["team"])
def alert_burden(db: DB, caller: ApiCaller) -> Any:
    """Alerts per patient-week over the last four weeks and the share marked useful, for
    the team and per patient (most alerts first)."""
    found = burden.alert_burden(db, caller.team_id)
    audit.record_list_view(db, actor=caller.actor, action="alerts.burden",
                           patient_ids=[b.patient_id for b in found.patients if b.patient_id])

    def row(b: burden.Burden) -> BurdenOut:
        return BurdenOut(patient_id=b.patient_id, name=b.name,
                         patient_weeks=round(b.patient_weeks, 2),
                         alerts=b.alerts, monitoring_alerts=b.monitoring_alerts,
                         per_patient_week=b.per_patient_week,
                         monitoring_per_patient_week=b.monitoring_per_patient_week,
                         resolved=b.resolved, marked=b.marked, useful=b.useful,
                         useful_share=b.useful_share)

    return AlertBurdenOut(since=found.since, until=found.until, team=row(found.team),
                          patients=[row(p) for p in found.patients])


@router.get("/audit", response_model=list[s.AuditOut], tags=["team"])
def audit_log(db: DB, caller: ApiCaller, patient_id: OptionalId = None,
              limit: int = Query(500, ge=1, le=10000)) -> list[Any]:
    """Who read or changed what, newest first (admins only)."""
    require_admin(caller)
    return audit.audit_entries(db, caller.team_id, patient_id=patient_id, limit=limit)
