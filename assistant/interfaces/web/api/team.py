"""API: the team's settings (admins change them) and its audit log."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, ApiCaller, OptionalId, require_admin
from assistant.services import audit, teams


@router.get("/team", response_model=s.TeamOut, tags=["team"])
def get_team(db: DB, caller: ApiCaller) -> Any:
    return teams.get_team(db, caller.team_id)


@router.patch("/team", response_model=s.TeamOut, tags=["team"])
def update_team(db: DB, caller: ApiCaller, body: s.TeamPatch) -> Any:
    """Team settings (admins only)."""
    require_admin(caller)
    return teams.change_settings(db, teams.get_team(db, caller.team_id),
                                 body.model_dump(exclude_unset=True), actor=caller.actor)


@router.get("/audit", response_model=list[s.AuditOut], tags=["team"])
def audit_log(db: DB, caller: ApiCaller, patient_id: OptionalId = None,
              limit: int = Query(500, ge=1, le=10000)) -> list[Any]:
    """Who read or changed what, newest first (admins only)."""
    require_admin(caller)
    return audit.audit_entries(db, caller.team_id, patient_id=patient_id, limit=limit)
