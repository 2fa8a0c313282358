"""Console: the team's alerts worklist (filters, patients in clinical priority, repeats
collapsed, 25 patients a page) and its actions: acknowledge, assign, resolve (saying
whether the alert was useful), snooze, reply to the patient. Each action on a collapsed
card applies to the whole group; every one comes back to the same filters, tab, page and
card (`#alert-ID`), on an error too."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlparse

from fastapi import Form, Request
from fastapi.responses import Response

from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, MAX_ID, ConsoleCaller, Id
from assistant.interfaces.web.pages.common import OptText, Text, back, render, router
from assistant.services import alerts, audit, escalation, replies, teams, worklist
from assistant.storage.models import Alert, AlertKind, AlertSeverity, AlertStatus


@router.get("/alerts")
def alert_inbox(request: Request, db: DB, caller: ConsoleCaller, status: str = "open",
                kind: str = "", severity: str = "", assignee: str = "", patient: str = "",
                page: int = 1) -> Response:
    f = worklist.Filters(status=status, kind=kind, severity=severity, assignee=assignee,
                         patient=patient, page=page)
    found = worklist.worklist(db, caller.team_id, f, me=caller.member.id)
    audit.record_list_view(db, actor=caller.actor, action="alerts.list",
                           patient_ids=[r.patient.id for r in found.rows])
    members = teams.members(db, caller.team_id)
    shown = [card.alert.id for row in found.rows for card in row.cards]
    return render(request, "alerts.html", caller, page=found, f=f, tabs=worklist.TABS,
                  kinds=list(AlertKind), severities=list(AlertSeverity), members=members,
                  member_names={m.id: m.name for m in members},
                  escalations=escalation.steps(db, shown),
                  zone=teams.get_team(db, caller.team_id).timezone,
                  moved=_moved(request, db, caller.team_id, shown))


def _moved(request: Request, db: DB, team_id: int, shown: list[int]) -> Alert | None:
    """The alert just worked on, when it no longer matches the filters (acknowledged on
    the open tab, assigned on the unassigned list): a line in its place says where it
    went, so that the page keeps its place."""
    worked = request.session.pop("worked", None)
    if not isinstance(worked, int) or worked in shown:
        return None
    alert = db.get(Alert, worked)
    return alert if alert is not None and alert.team_id == team_id else None


def _done(request: Request, alert: Alert, message: str) -> Response:
    request.session["worked"] = alert.id
    return back(request, message, anchor=f"alert-{alert.id}")


ACTIONS: dict[str, dict[str, Any]] = {
    "acknowledge": {"status": AlertStatus.acknowledged},
    "assign": {},
    "resolve": {"status": AlertStatus.resolved},
    "resolve_useful": {"status": AlertStatus.resolved, "useful": True},
    "resolve_not_useful": {"status": AlertStatus.resolved, "useful": False},
    "mark_useful": {"useful": True},
    "mark_not_useful": {"useful": False},
}
DONE = {"assign": "Alert assigned.", "resolve_useful": "Alert resolved (useful).",
        "resolve_not_useful": "Alert resolved (not useful).",
        "mark_useful": "Alert marked useful.", "mark_not_useful": "Alert marked not useful."}


@router.post("/alerts/{alert_id}", dependencies=[CSRF])
def alert_update(request: Request, db: DB, caller: ConsoleCaller, alert_id: Id,
                 action: Text, note: OptText = "",
                 assigned_to: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None) -> Response:
    """An action on the card: on a collapsed card, on every alert of its group."""
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    if action not in ACTIONS:
        raise InvalidInput(f"action: unknown action {action!r}")
    changes = dict(ACTIONS[action])
    if action == "assign":
        if assigned_to is None:
            raise InvalidInput("assigned_to: choose a member")
        changes["assigned_to"] = assigned_to
    if changes.get("status") == AlertStatus.resolved:
        changes["note"] = note
    group = worklist.group_of(db, alert, _filters_of(request), me=caller.member.id) if (
        action in ("acknowledge", "assign") or changes.get("status") == AlertStatus.resolved
    ) else [alert]
    for one in group:
        if action == "acknowledge" and one.status != AlertStatus.open:
            continue
        alerts.update_alert(db, one, actor=caller.actor, **changes)
    done = DONE.get(action, f"Alert {action}d.")
    if len(group) > 1:
        done = f"{done[:-1]} (all {len(group)})."
    return _done(request, alert, done)


def _filters_of(request: Request) -> worklist.Filters:
    """The filters of the worklist the form was sent from (its address's query)."""
    query = {k: v[0] for k, v in parse_qs(urlparse(request.headers.get("referer", "")).query)
             .items()}
    try:
        return worklist.Filters(status=query.get("status", "open"), kind=query.get("kind", ""),
                                severity=query.get("severity", ""),
                                assignee=query.get("assignee", ""),
                                patient=query.get("patient", ""))
    except InvalidInput:
        return worklist.Filters(status="all")


@router.post("/alerts/{alert_id}/snooze", dependencies=[CSRF])
def alert_snooze(request: Request, db: DB, caller: ConsoleCaller, alert_id: Id,
                 minutes: Annotated[int, Form(ge=15, le=24 * 60)]) -> Response:
    """A monitoring alert's measure and direction held back for the chosen time."""
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    alerts.snooze(db, alert, minutes=minutes, actor=caller.actor)
    return _done(request, alert, "Alert snoozed.")


@router.post("/alerts/{alert_id}/reply", dependencies=[CSRF])
def alert_reply(request: Request, db: DB, caller: ConsoleCaller, alert_id: Id,
                text: Text) -> Response:
    """A message to the patient's chat, kept in the alert's history."""
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    replies.answer_alert(db, alert, text, actor=caller.actor)
    return _done(request, alert, "Message queued for the patient's chat.")
