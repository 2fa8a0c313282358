"""The alerts worklist: the team's alerts filtered, grouped by patient, repeats collapsed,
in clinical priority, 25 patients a page, all in SQL (a handful of queries a page,
whatever the ward's size).

Filters: status tab (open, acknowledged, confirming, resolved, all), kind, severity,
assignee (a member id, "me", "unassigned") and patient (a name's part, a record number,
or "#id").

Collapsing: the repeats of one patient's alert of the same kind, measure and direction
(readings out of range, trends, forecasts, missing data, missed doses, refills, an
unreachable chat) in the same status show as one card, the newest, with their count
("×7"); its actions apply to every alert the card stands for (under the same filters).
What carries the patient's own words (questions, symptoms, emergencies, schedule
requests, a changed chat) is never collapsed.

Priority, each alert: unresolved before resolved; then urgent, then a warning (high) or
the patient asking (a question or a symptom relayed to the team), then normal; then open
(nobody acknowledged it) before acknowledged before confirming (waiting for the patient to
re-measure); then the oldest first (what has waited longest). A patient ranks by their
most pressing alert, then by their oldest one; the cards inside a patient in the same
order. The resolved tab shows the most recently created first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from assistant.errors import InvalidInput
from assistant.services import audit
from assistant.storage.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ChatLink,
    Patient,
)

PAGE_PATIENTS = 25
TABS = ("open", "acknowledged", "confirming", "resolved", "all")
COLLAPSED = (AlertKind.reading, AlertKind.trend, AlertKind.forecast, AlertKind.missing_data,
             AlertKind.missed_doses, AlertKind.refill, AlertKind.unreachable)
ASKING = (AlertKind.question, AlertKind.symptom)

_SEVERITY = case((col(Alert.severity) == AlertSeverity.urgent, 0),
                 (or_(col(Alert.severity) == AlertSeverity.high,
                      col(Alert.kind).in_(ASKING)), 1), else_=2)
_STATE = case((col(Alert.status) == AlertStatus.open, 0),
              (col(Alert.status) == AlertStatus.acknowledged, 1),
              (col(Alert.status) == AlertStatus.confirming, 2), else_=3)
# One number per alert: smaller is more pressing (resolved 300+, urgent open 0).
SCORE = case((_STATE == 3, 300), else_=0) + _SEVERITY * 10 + _STATE
# Alerts of a collapsed kind share 0; any other alert is a group of its own.
_SOLO = case((col(Alert.kind).in_(COLLAPSED), 0), else_=col(Alert.id))


@dataclass(frozen=True)
class Filters:
    status: str = "open"
    kind: str = ""
    severity: str = ""
    assignee: str = ""      # "", "me", "unassigned" or a member id
    patient: str = ""
    page: int = 1

    def __post_init__(self) -> None:
        if self.status not in TABS:
            raise InvalidInput(f"status: one of {', '.join(TABS)}")
        if self.kind and self.kind not in AlertKind.__members__:
            raise InvalidInput(f"kind: no alert kind {self.kind!r}")
        if self.severity and self.severity not in AlertSeverity.__members__:
            raise InvalidInput(f"severity: one of {', '.join(AlertSeverity)}")
        if self.assignee not in ("", "me", "unassigned") and not (
                self.assignee.isdigit() and 0 < int(self.assignee) < 2**31):
            raise InvalidInput("assignee: a member, me or unassigned")
        if len(self.patient) > 120:
            raise InvalidInput("patient: at most 120 characters")
        if not 1 <= self.page <= 100_000:
            raise InvalidInput("page: from 1")

    def params(self, **changes: Any) -> dict[str, str]:
        """The filters as a URL's query (empty ones left out), with `changes` applied."""
        values = {"status": self.status, "kind": self.kind, "severity": self.severity,
                  "assignee": self.assignee, "patient": self.patient, "page": str(self.page),
                  **{k: str(v) for k, v in changes.items()}}
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


def conditions(team_id: int, f: Filters, *, me: int | None, tab: bool = True) -> list[Any]:
    """The WHERE of the filters (a query joining Patient); without the tab if `tab` is
    False (for the tabs' counts)."""
    found: list[Any] = [col(Alert.team_id) == team_id]
    if tab and f.status != "all":
        found.append(col(Alert.status) == f.status)
    if f.kind:
        found.append(col(Alert.kind) == f.kind)
    if f.severity:
        found.append(col(Alert.severity) == f.severity)
    if f.assignee == "unassigned":
        found.append(col(Alert.assigned_to).is_(None))
    elif f.assignee:
        found.append(col(Alert.assigned_to) == (me if f.assignee == "me" else int(f.assignee)))
    text = f.patient.strip()
    if text.startswith("#") and text[1:].isdigit() and int(text[1:]) < 2**31:
        found.append(col(Alert.patient_id) == int(text[1:]))
    elif text:
        pattern = "%" + text.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
        found.append(or_(func.lower(col(Patient.display_name)).like(pattern),
                         col(Patient.record_number) == text))
    return found


@dataclass
class Event:
    action: str
    who: str
    note: str | None
    at: datetime


@dataclass
class Card:
    alert: Alert
    count: int
    first_at: datetime
    events: list[Event] = field(default_factory=list)


@dataclass
class PatientRow:
    patient: Patient
    linked: bool
    cards: list[Card]


@dataclass
class Page:
    filters: Filters
    rows: list[PatientRow]
    patients: int          # patients matching, all pages
    alerts: int            # alerts matching, all pages
    counts: dict[str, int]  # alerts per tab, with the other filters
    pages: int


def worklist(db: Session, team_id: int, f: Filters, *, me: int) -> Page:
    where = conditions(team_id, f, me=me)
    per_patient = (select(Alert.patient_id).join(Patient, col(Patient.id) == Alert.patient_id)
                   .where(*where).group_by(col(Alert.patient_id)))
    if f.status == "resolved":
        order = [func.max(Alert.created_at).desc(), col(Alert.patient_id)]
    else:
        order = [func.min(SCORE), func.min(Alert.created_at), col(Alert.patient_id)]
    ids = [row for row in db.exec(per_patient.order_by(*order).limit(PAGE_PATIENTS)
                                     .offset((f.page - 1) * PAGE_PATIENTS)).all()]
    totals = db.exec(select(func.count(func.distinct(Alert.patient_id)), func.count())
                     .select_from(Alert).join(Patient, col(Patient.id) == Alert.patient_id)
                     .where(*where)).one()
    counts = dict.fromkeys(TABS, 0)
    for status, n in db.exec(select(Alert.status, func.count()).join(
            Patient, col(Patient.id) == Alert.patient_id)
            .where(*conditions(team_id, f, me=me, tab=False)).group_by(col(Alert.status))):
        counts[str(status)] = n
    counts["all"] = sum(counts[t] for t in TABS[:-1])
    rows = _rows(db, team_id, where, ids, resolved_tab=f.status == "resolved")
    return Page(f, rows, totals[0], totals[1], counts,
                max(1, -(-totals[0] // PAGE_PATIENTS)))


def _rows(db: Session, team_id: int, where: list[Any], ids: list[int], *,
          resolved_tab: bool) -> list[PatientRow]:
    if not ids:
        return []
    # (sqlmodel's select types at most four columns)
    groups = db.execute(select_columns(col(Alert.patient_id), func.count(),
                                       func.max(col(Alert.id)),
                                       func.min(col(Alert.created_at)), func.min(SCORE))
                        .join(Patient, col(Patient.id) == Alert.patient_id)
                        .where(*where, col(Alert.patient_id).in_(ids))
                        .group_by(col(Alert.patient_id), col(Alert.kind), col(Alert.measure),
                                  col(Alert.direction), col(Alert.status), _SOLO)).all()
    newest = {row[2] for row in groups}
    shown = {a.id: a for a in db.exec(select(Alert).where(col(Alert.id).in_(newest)))}
    history = events(db, team_id, list(newest))
    patients = {p.id: (p, linked is not None) for p, linked in db.exec(
        select(Patient, ChatLink.id).outerjoin(ChatLink, and_(
            col(ChatLink.patient_id) == Patient.id, col(ChatLink.unlinked_at).is_(None)))
        .where(col(Patient.id).in_(ids)))}
    cards: dict[int, list[tuple[Any, Card]]] = {pid: [] for pid in ids}
    for patient_id, count, alert_id, first_at, score in groups:
        alert = shown[alert_id]
        key = (-alert.created_at.timestamp(),) if resolved_tab else (score, first_at)
        cards[patient_id].append((key, Card(alert, count, first_at, history.get(alert_id, []))))
    return [PatientRow(patients[pid][0], patients[pid][1],
                       [card for _, card in sorted(cards[pid], key=lambda kc: kc[0])])
            for pid in ids]


def events(db: Session, team_id: int, alert_ids: list[int]) -> dict[int, list[Event]]:
    """Each alert's history, oldest first, with members' names (not "member:3"); only
    alerts of the team `team_id`."""
    if not alert_ids:
        return {}
    rows = db.exec(select(AlertEvent).join(Alert, col(Alert.id) == AlertEvent.alert_id)
                   .where(col(AlertEvent.alert_id).in_(alert_ids), Alert.team_id == team_id)
                   .order_by(col(AlertEvent.at), col(AlertEvent.id))).all()
    names = {"system": "CareLoop", "patient": "the patient",
             **audit.member_names(db, {e.actor for e in rows})}
    found: dict[int, list[Event]] = {}
    for e in rows:
        found.setdefault(e.alert_id, []).append(
            Event(e.action, names.get(e.actor, e.actor), e.note, e.at))
    return found


def group_of(db: Session, alert: Alert, f: Filters, *, me: int) -> list[Alert]:
    """The alerts the alert's card stands for under the filters `f`: it and its repeats
    of the same status (just the alert when its kind is never collapsed)."""
    if alert.kind not in COLLAPSED:
        return [alert]
    same = [col(Alert.measure).is_(None) if alert.measure is None
            else col(Alert.measure) == alert.measure,
            col(Alert.direction).is_(None) if alert.direction is None
            else col(Alert.direction) == alert.direction]
    found = list(db.exec(select(Alert).join(Patient, col(Patient.id) == Alert.patient_id)
                         .where(*conditions(alert.team_id, f, me=me, tab=False), *same,
                                Alert.patient_id == alert.patient_id, Alert.kind == alert.kind,
                                Alert.status == alert.status).order_by(col(Alert.id))))
    return found if alert in found else [*found, alert]


def flat(db: Session, team_id: int, f: Filters, *, me: int, offset: int,
         limit: int) -> tuple[list[Alert], int]:
    """The API's list: the filtered alerts, open before acknowledged before confirming
    before resolved, urgent first, newest first; one page of them and the total."""
    where = conditions(team_id, f, me=me)
    severity = case((col(Alert.severity) == AlertSeverity.urgent, 0),
                    (col(Alert.severity) == AlertSeverity.high, 1), else_=2)
    found = db.exec(select(Alert).join(Patient, col(Patient.id) == Alert.patient_id)
                    .where(*where).order_by(_STATE, severity, col(Alert.created_at).desc(),
                                            col(Alert.id).desc())
                    .offset(offset).limit(limit)).all()
    total = db.exec(select(func.count()).select_from(Alert)
                    .join(Patient, col(Patient.id) == Alert.patient_id).where(*where)).one()
    return list(found), total
