"""What a team's data says about each of its patients, gathered for the whole team by one
grouped query each (the patient list's facts, services/ward.py): adherence, doses missed in
a row, today's doses in each patient's own day, open and urgent alerts, readings out of
range, chats. Read only; never a query per patient.

Dose states are counted rather than filtered where a query reads many doses, so that it
runs patient by patient on the index (patient_id, due_at), never across every team's doses
of a state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from assistant.domain import dues, zones
from assistant.errors import InvalidInput
from assistant.services import triage
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ChatLink,
    DoseOccurrence,
    DoseStatus,
    Patient,
)

OPEN = (AlertStatus.open, AlertStatus.acknowledged)
OK = (DoseStatus.taken, DoseStatus.skipped)
ANSWERED = (*OK, DoseStatus.missed)


def team_join(team_id: int) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The join to the team's patients and its condition, for dose occurrences."""
    return col(Patient.id) == DoseOccurrence.patient_id, col(Patient.team_id) == team_id


def counted(status: tuple[DoseStatus, ...], then: object = 1) -> ColumnElement[int]:
    """`then` for a dose of one of these states, else nothing. The states are counted, not
    filtered, so that the query runs patient by patient (index ix_dose_occurrences_
    patient_due), never across every team's doses of a state."""
    return case((col(DoseOccurrence.status).in_(status), then), else_=None)


def adherence(db: Session, team_id: int, now: datetime, days: int,
              ids: list[int] | None = None) -> dict[int, tuple[int, int, int]]:
    """Per patient (of the team, or only `ids`) over `days` days: doses taken, doses
    answered, and the doses missed since the last one taken or skipped (in a row)."""
    if ids == []:
        return {}
    since = now - timedelta(days=days)
    on, mine = team_join(team_id)
    query: Any = (select(col(DoseOccurrence.patient_id).label("pid"),
                    func.count(counted((DoseStatus.taken,))).label("taken"),
                    func.count(counted(ANSWERED)).label("answered"),
                    func.max(counted(OK, DoseOccurrence.due_at)).label("last_ok"))
             .join(Patient, on)
             .where(mine, col(DoseOccurrence.due_at) >= since, col(DoseOccurrence.due_at) <= now)
             .group_by(col(DoseOccurrence.patient_id)))
    if ids is not None:
        query = query.where(col(DoseOccurrence.patient_id).in_(ids))
    week = query.subquery()
    # Then each patient's doses after the last one taken or skipped: a short index range.
    later = aliased(DoseOccurrence)
    rows = db.exec(select(week.c.pid, week.c.taken, week.c.answered, func.count(case(
                       (col(later.status) == DoseStatus.missed, 1), else_=None)))
                   .outerjoin(later, and_(col(later.patient_id) == week.c.pid,
                                          col(later.due_at) > func.coalesce(week.c.last_ok,
                                                                            since),
                                          col(later.due_at) >= since,
                                          col(later.due_at) <= now))
                   .group_by(week.c.pid, week.c.taken, week.c.answered)).all()
    return {pid: (taken, n, streak) for pid, taken, n, streak in rows if n}


def today(db: Session, team_id: int, tz_names: Iterable[str],
           now: datetime) -> dict[int, triage.Today]:
    """Per patient: today's doses in the patient's own local day, by outcome."""
    windows, edges = [], [now - timedelta(days=1)]
    for name in sorted(set(tz_names)):
        try:
            tz = zones.zone(name)
        except InvalidInput:
            continue
        day = now.astimezone(tz).date()
        start = dues.to_utc(day, datetime.min.time(), tz)
        end = dues.to_utc(day + timedelta(days=1), datetime.min.time(), tz)
        windows.append(and_(col(Patient.timezone) == name, col(DoseOccurrence.due_at) >= start,
                            col(DoseOccurrence.due_at) < end))
        edges += [start, end]
    on, mine = team_join(team_id)
    rows = db.exec(select(DoseOccurrence.patient_id, DoseOccurrence.status, func.count())
                   .join(Patient, on).where(mine, or_(false(), *windows),
                                            col(DoseOccurrence.due_at) >= min(edges),
                                            col(DoseOccurrence.due_at) < max(edges))
                   .group_by(col(DoseOccurrence.patient_id), col(DoseOccurrence.status))).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, status, n in rows:
        if status != DoseStatus.cancelled:
            counts[pid][status] = n
    return {pid: triage.Today(due=sum(c.values()), taken=c.get(DoseStatus.taken, 0),
                              skipped=c.get(DoseStatus.skipped, 0),
                              missed=c.get(DoseStatus.missed, 0)) for pid, c in counts.items()}


def alerts(db: Session, team_id: int, now: datetime) -> tuple[
        dict[int, dict[str, int]], dict[int, list[str]], dict[int, dict[tuple[str, str], int]]]:
    """Per patient: open alerts by severity, urgent summaries (newest first), and reading
    alerts of the last 7 days by measure and direction."""
    by_severity: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, severity, n in db.exec(
            select(Alert.patient_id, Alert.severity, func.count())
            .where(Alert.team_id == team_id, col(Alert.status).in_(OPEN))
            .group_by(col(Alert.patient_id), col(Alert.severity))).all():
        by_severity[pid][severity] = n
    urgent: dict[int, list[str]] = defaultdict(list)
    for pid, summary in db.exec(
            select(Alert.patient_id, Alert.summary)
            .where(Alert.team_id == team_id, col(Alert.status).in_(OPEN),
                   Alert.severity == AlertSeverity.urgent)
            .order_by(col(Alert.created_at).desc())).all():
        urgent[pid].append(summary)
    readings: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    for pid, measure, direction, n in db.exec(
            select(Alert.patient_id, Alert.measure, Alert.direction, func.count())
            .where(Alert.team_id == team_id, Alert.kind == AlertKind.reading,
                   Alert.status != AlertStatus.confirming, col(Alert.measure).is_not(None),
                   col(Alert.direction).is_not(None),
                   col(Alert.created_at) >= now - timedelta(days=7))
            .group_by(col(Alert.patient_id), col(Alert.measure), col(Alert.direction))).all():
        readings[pid][(measure or "", direction or "")] = n
    return by_severity, urgent, readings


def links(db: Session, team_id: int) -> dict[int, tuple[datetime, datetime | None]]:
    """Per patient with a chat: when it was linked and when it became unreachable."""
    return {pid: (linked, unreachable) for pid, linked, unreachable in db.exec(
        select(ChatLink.patient_id, ChatLink.linked_at, ChatLink.unreachable_at)
        .join(Patient, col(Patient.id) == ChatLink.patient_id)
        .where(Patient.team_id == team_id, col(ChatLink.unlinked_at).is_(None))).all()}
