"""API: the team's alerts: list, read, acknowledge, assign, resolve, snooze."""

from __future__ import annotations

from typing import Any

from assistant.interfaces.web import schemas as s
from assistant.interfaces.web.api.common import router
from assistant.interfaces.web.deps import DB, ApiCaller, Id, OptionalId
from assistant.services import alerts, audit
from assistant.storage.models import AlertStatus


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


@router.post("/alerts/{alert_id}/snooze", response_model=s.SnoozeOut, tags=["alerts"])
def snooze_alert(db: DB, caller: ApiCaller, alert_id: Id, body: s.SnoozeIn) -> Any:
    """Hold back news of a monitoring alert's measure and direction for `minutes`
    (15..1440): no new warning for them opens meanwhile; an urgent value still comes
    through, and a high's snooze never silences a low."""
    return alerts.snooze(db, alerts.get_alert(db, caller.team_id, alert_id),
                         minutes=body.minutes, actor=caller.actor)
