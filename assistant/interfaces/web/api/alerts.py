"""API: the team's alerts: list, read, acknowledge, assign, resolve, snooze; each with
the steps of its escalation ladder."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlmodel import Session

from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, ApiCaller, Id, OptionalId
from assistant.services import alerts, audit, escalation
from assistant.storage.models import Alert, AlertStatus


def _out(db: Session, found: list[Alert]) -> list[dict[str, Any]]:
    """The alerts as the API shows them, with who each was escalated to and when."""
    steps = escalation.steps(db, [a.id for a in found])
    fields = [name for name in s.AlertOut.model_fields if name != "escalations"]
    return [{**{name: getattr(a, name) for name in fields},
             "escalations": [asdict(step) for step in steps.get(a.id, [])]} for a in found]


@router.get("/alerts", response_model=list[s.AlertOut], tags=["alerts"])
def list_alerts(db: DB, caller: ApiCaller, status: AlertStatus | None = None,
                patient_id: OptionalId = None) -> list[Any]:
    """Open alerts first, urgent first, newest first."""
    found = alerts.alerts(db, caller.team_id, status=status, patient_id=patient_id)
    audit.record_read(db, actor=caller.actor, action="alerts.list", patient_id=patient_id)
    return _out(db, found)


@router.get("/alerts/{alert_id}", response_model=s.AlertOut, tags=["alerts"])
def get_alert(db: DB, caller: ApiCaller, alert_id: Id) -> Any:
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    audit.record_read(db, actor=caller.actor, action="alert.view",
                      patient_id=alert.patient_id)
    return _out(db, [alert])[0]


@router.patch("/alerts/{alert_id}", response_model=s.AlertOut, tags=["alerts"])
def update_alert(db: DB, caller: ApiCaller, alert_id: Id, body: s.AlertPatch) -> Any:
    """Acknowledge, assign or resolve (a note is required to resolve)."""
    alert = alerts.update_alert(db, alerts.get_alert(db, caller.team_id, alert_id),
                                actor=caller.actor, **body.model_dump(exclude_unset=True))
    return _out(db, [alert])[0]


@router.post("/alerts/{alert_id}/snooze", response_model=s.SnoozeOut, tags=["alerts"])
def snooze_alert(db: DB, caller: ApiCaller, alert_id: Id, body: s.SnoozeIn) -> Any:
    """Hold back news of a monitoring alert's measure and direction for `minutes`
    (15..1440): no new warning for them opens meanwhile; an urgent value still comes
    through, and a high's snooze never silences a low."""
    return alerts.snooze(db, alerts.get_alert(db, caller.team_id, alert_id),
                         minutes=body.minutes, actor=caller.actor)
