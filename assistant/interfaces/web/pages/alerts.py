"""Console: the team's alert inbox: acknowledge, assign, resolve (saying whether the alert
was useful), snooze, and each urgent alert's escalation steps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, MAX_ID, ConsoleCaller, Id
from assistant.interfaces.web.pages.common import OptText, Text, back, render, router
from assistant.services import alerts, audit, escalation, teams, views
from assistant.storage.models import AlertStatus


@router.get("/alerts")
def alert_inbox(request: Request, db: DB, caller: ConsoleCaller,
                status: str = "open") -> Response:
    chosen = AlertStatus(status) if status in AlertStatus.__members__ else None
    found = alerts.alerts(db, caller.team_id, status=chosen)
    audit.record_list_view(db, actor=caller.actor, action="alerts.list",
                           patient_ids=[a.patient_id for a in found])
    names = {p.patient.id: p.patient.display_name for p in views.summaries(db, caller.team_id)}
    members = teams.members(db, caller.team_id)
    return render(request, "alerts.html", caller, alerts=found, names=names, status=status,
                  members=members, member_names={m.id: m.name for m in members},
                  escalations=escalation.steps(db, [a.id for a in found]))


@router.post("/alerts/{alert_id}", dependencies=[CSRF])
def alert_update(request: Request, db: DB, caller: ConsoleCaller, alert_id: Id,
                 action: Text, note: OptText = "",
                 assigned_to: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None) -> Response:
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    choices: dict[str, dict[str, Any]] = {
        "acknowledge": {"status": AlertStatus.acknowledged},
        "assign": {"assigned_to": assigned_to},
        "resolve": {"status": AlertStatus.resolved, "note": note},
        "resolve_useful": {"status": AlertStatus.resolved, "note": note, "useful": True},
        "resolve_not_useful": {"status": AlertStatus.resolved, "note": note, "useful": False},
        "mark_useful": {"useful": True},
        "mark_not_useful": {"useful": False},
    }
    changes = choices.get(action, {})
    if not changes:
        raise InvalidInput(f"action: unknown action {action!r}")
    alerts.update_alert(db, alert, actor=caller.actor, **changes)
    return back(request, DONE.get(action, f"Alert {action}d."))


DONE = {"assign": "Alert assigned.", "resolve_useful": "Alert resolved (useful).",
        "resolve_not_useful": "Alert resolved (not useful).",
        "mark_useful": "Alert marked useful.", "mark_not_useful": "Alert marked not useful."}


@router.post("/alerts/{alert_id}/snooze", dependencies=[CSRF])
def alert_snooze(request: Request, db: DB, caller: ConsoleCaller, alert_id: Id,
                 minutes: Annotated[int, Form(ge=15, le=24 * 60)]) -> Response:
    """A monitoring alert's measure and direction held back for the chosen time."""
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    alerts.snooze(db, alert, minutes=minutes, actor=caller.actor)
    return back(request, "Alert snoozed.")
