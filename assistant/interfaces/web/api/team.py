"""API: the team's settings (admins change them) and its audit log."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from assistant.errors import InvalidInput
from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, ApiCaller, OptionalId, require_admin
from assistant.services import audit
from assistant.services.readings import check_thresholds
from assistant.storage.models import CareTeam


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
