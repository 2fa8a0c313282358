"""API: the team's alerts: list (the worklist's filters, paged), read, acknowledge,
assign, resolve, snooze; each with the steps of its escalation ladder and its history."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, MAX_ID, ApiCaller, Id, OptionalId
from assistant.services import alerts, audit, escalation, worklist
from assistant.storage.models import Alert, AlertKind, AlertSeverity, AlertStatus


class EscalationOut(BaseModel):
    member_id: int
    name: str
    at: datetime


class EventOut(BaseModel):
    action: str        # created, acknowledged, assigned, replied, resolved, reopened, ...
    who: str           # a member's name, "CareLoop" or "the patient"
    note: str | None   # the member assigned, the reply sent, how it was resolved
    at: datetime


class AlertOut(BaseModel):
    id: int
    patient_id: int
    kind: AlertKind
    severity: AlertSeverity
    summary: str
    status: AlertStatus
    assigned_to: int | None
    resolution_note: str | None
    created_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    useful: bool | None
    measure: str | None          # monitoring alerts: the measure and direction
    direction: str | None
    evidence_at: datetime | None  # the effective time of the reading that triggered it
    escalations: list[EscalationOut] = []  # the on-call members an urgent alert went to
    events: list[EventOut] = []   # its history, oldest first


class AlertPatch(s.In):
    status: AlertStatus | None = None
    assigned_to: int | None = Field(default=None, ge=1, le=MAX_ID)
    note: str | None = Field(default=None, max_length=2000)
    useful: bool | None = None   # on resolving: was the alert worth it


class SnoozeIn(s.In):
    minutes: int = Field(ge=15, le=24 * 60)   # 15 minutes to a day


class SnoozeOut(BaseModel):
    alert_id: int | None
    measure: str
    direction: str | None
    until: datetime
    created_by: str



def _out(db: Session, team_id: int, found: list[Alert]) -> list[dict[str, Any]]:
    """The alerts as the API shows them, with who each was escalated to and when, and
    their history."""
    ids = [a.id for a in found]
    steps, history = escalation.steps(db, ids), worklist.events(db, team_id, ids)
    fields = [name for name in AlertOut.model_fields if name not in ("escalations", "events")]
    return [{**{name: getattr(a, name) for name in fields},
             "escalations": [asdict(step) for step in steps.get(a.id, [])],
             "events": [asdict(e) for e in history.get(a.id, [])]} for a in found]


@router.get("/alerts", response_model=list[AlertOut], tags=["alerts"])
def list_alerts(db: DB, caller: ApiCaller, response: Response,
                status: AlertStatus | None = None, patient_id: OptionalId = None,
                kind: AlertKind | None = None, severity: AlertSeverity | None = None,
                assignee: Annotated[str, Query(max_length=12, pattern=r"^(me|unassigned|\d+)?$",
                                               description="a member id, me or unassigned")]
                = "",
                patient: Annotated[str, Query(max_length=120, description=(
                    "part of a name, a record number, or #id"))] = "",
                offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Any]:
    """Open alerts first, urgent first, newest first; the worklist's filters; `offset` and
    `limit` page it (the header `X-Total-Count` says how many match)."""
    f = worklist.Filters(status=status or "all", kind=kind or "", severity=severity or "",
                         assignee=assignee, patient=f"#{patient_id}" if patient_id else patient)
    found, total = worklist.flat(db, caller.team_id, f, me=caller.member.id, offset=offset,
                                 limit=limit)
    response.headers["X-Total-Count"] = str(total)
    audit.record_list_view(db, actor=caller.actor, action="alerts.list",
                           patient_ids=[a.patient_id for a in found])
    return _out(db, caller.team_id, found)


@router.get("/alerts/{alert_id}/events", response_model=list[EventOut], tags=["alerts"])
def alert_events(db: DB, caller: ApiCaller, alert_id: Id) -> Any:
    """The alert's history, oldest first: who did what, when."""
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    audit.record_read(db, actor=caller.actor, action="alert.view",
                      patient_id=alert.patient_id)
    return [asdict(e) for e in worklist.events(db, caller.team_id, [alert.id]).get(alert.id, [])]


@router.get("/alerts/{alert_id}", response_model=AlertOut, tags=["alerts"])
def get_alert(db: DB, caller: ApiCaller, alert_id: Id) -> Any:
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    audit.record_read(db, actor=caller.actor, action="alert.view",
                      patient_id=alert.patient_id)
    return _out(db, caller.team_id, [alert])[0]


@router.patch("/alerts/{alert_id}", response_model=AlertOut, tags=["alerts"])
def update_alert(db: DB, caller: ApiCaller, alert_id: Id, body: AlertPatch) -> Any:
    """Acknowledge, assign or resolve (a note is required to resolve)."""
    alert = alerts.update_alert(db, alerts.get_alert(db, caller.team_id, alert_id),
                                actor=caller.actor, **body.model_dump(exclude_unset=True))
    return _out(db, caller.team_id, [alert])[0]


@router.post("/alerts/{alert_id}/snooze", response_model=SnoozeOut, tags=["alerts"])
def snooze_alert(db: DB, caller: ApiCaller, alert_id: Id, body: SnoozeIn) -> Any:
    """Hold back news of a monitoring alert's measure and direction for `minutes`
    (15..1440): no new warning for them opens meanwhile; an urgent value still comes
    through, and a high's snooze never silences a low."""
    return alerts.snooze(db, alerts.get_alert(db, caller.team_id, alert_id),
                         minutes=body.minutes, actor=caller.actor)
