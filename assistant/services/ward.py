"""The patient list of a whole ward, fast: adherence (7 and 30 days), open and urgent
alerts, chat status, last contact, doses missed in a row, readings out of range and
today's doses, each gathered for the whole team by one grouped query (seven in all,
however many patients), then weighed by services/triage.py, filtered, sorted and paged.
Read only; it sees only the caller's team.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, false, func, or_
from sqlmodel import Session, col, select

from assistant.domain import dues, zones
from assistant.errors import InvalidInput
from assistant.services import risk, triage
from assistant.storage.db import utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ChatLink,
    DoseOccurrence,
    DoseStatus,
    Patient,
    PatientStatus,
)

# "risk": services/triage.py; "monitoring": by what the readings say (services/risk.py).
SORTS = ("risk", "monitoring", "name", "adherence", "last_contact")
FILTERS = {"not_linked": "not linked", "unreachable": "unreachable", "paused": "paused",
           "urgent": "urgent alert", "missed_today": "missed today"}
PAGE_SIZE = 50
_OPEN = (AlertStatus.open, AlertStatus.acknowledged)
_ANSWERED = (DoseStatus.taken, DoseStatus.skipped, DoseStatus.missed)


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    adherence_7: int | None
    adherence_30: int | None
    open_alerts: int
    urgent_alerts: int
    chat: str  # "linked", "unreachable" or "not linked"
    monitoring: risk.Risk | None = None   # when sorted by monitoring risk
    assessment: triage.Assessment = triage.Assessment(1, 0, ())
    missed_in_a_row: int = 0
    today: triage.Today = triage.Today()

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.assessment.reasons

    def risk(self) -> tuple[int, float, int, str]:
        """Sort key, most at risk first (services/triage.py gives the order)."""
        return self.assessment.key(self.adherence_7, self.patient.display_name)


@dataclass(frozen=True)
class Ward:
    rows: list[PatientSummary]   # this page
    total: int                   # all that match
    offset: int
    limit: int


def _percent(taken: int | None, answered: int | None) -> int | None:
    return round(100 * (taken or 0) / answered) if answered else None


def _mine(team_id: int) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The join to the team's patients and its condition, for dose occurrences."""
    return col(Patient.id) == DoseOccurrence.patient_id, col(Patient.team_id) == team_id


def _adherence(db: Session, team_id: int, now: datetime) -> dict[int, tuple[int, ...]]:
    """Per patient: taken and answered in 7 days, taken and answered in 30 days."""
    week = case((col(DoseOccurrence.due_at) >= now - timedelta(days=7), 1), else_=0)
    on, mine = _mine(team_id)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for pid, status, in_week, n in db.exec(
            select(DoseOccurrence.patient_id, DoseOccurrence.status, week, func.count())
            .join(Patient, on).where(mine, col(DoseOccurrence.status).in_(_ANSWERED),
                                     col(DoseOccurrence.due_at) >= now - timedelta(days=30),
                                     col(DoseOccurrence.due_at) <= now)
            .group_by(col(DoseOccurrence.patient_id), col(DoseOccurrence.status), week)).all():
        taken = n if status == DoseStatus.taken else 0
        seen = counts[pid]
        if in_week:
            seen[0] += taken
            seen[1] += n
        seen[2] += taken
        seen[3] += n
    return {pid: tuple(c) for pid, c in counts.items()}


def _missed_in_a_row(db: Session, team_id: int, now: datetime) -> dict[int, int]:
    """Per patient: doses missed since the last one taken or skipped (30 days at most)."""
    since = now - timedelta(days=30)
    on, mine = _mine(team_id)
    last_ok = (select(col(DoseOccurrence.patient_id).label("pid"),
                      func.max(DoseOccurrence.due_at).label("at"))
               .join(Patient, on)
               .where(mine, col(DoseOccurrence.status).in_((DoseStatus.taken, DoseStatus.skipped)),
                      col(DoseOccurrence.due_at) >= since, col(DoseOccurrence.due_at) <= now)
               .group_by(col(DoseOccurrence.patient_id)).subquery())
    rows = db.exec(select(DoseOccurrence.patient_id, func.count()).join(Patient, on)
                   .outerjoin(last_ok, last_ok.c.pid == DoseOccurrence.patient_id)
                   .where(mine, col(DoseOccurrence.status) == DoseStatus.missed,
                          col(DoseOccurrence.due_at) >= since, col(DoseOccurrence.due_at) <= now,
                          or_(last_ok.c.at.is_(None), col(DoseOccurrence.due_at) > last_ok.c.at))
                   .group_by(col(DoseOccurrence.patient_id))).all()
    return dict(rows)


def _today(db: Session, team_id: int, tz_names: Iterable[str],
           now: datetime) -> dict[int, triage.Today]:
    """Per patient: today's doses in the patient's own local day, by outcome."""
    windows = []
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
    on, mine = _mine(team_id)
    rows = db.exec(select(DoseOccurrence.patient_id, DoseOccurrence.status, func.count())
                   .join(Patient, on)
                   .where(mine, col(DoseOccurrence.status) != DoseStatus.cancelled,
                          or_(false(), *windows))
                   .group_by(col(DoseOccurrence.patient_id), col(DoseOccurrence.status))).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, status, n in rows:
        counts[pid][status] = n
    return {pid: triage.Today(due=sum(c.values()), taken=c.get(DoseStatus.taken, 0),
                              skipped=c.get(DoseStatus.skipped, 0),
                              missed=c.get(DoseStatus.missed, 0)) for pid, c in counts.items()}


def _alerts(db: Session, team_id: int, now: datetime) -> tuple[
        dict[int, dict[str, int]], dict[int, list[str]], dict[int, dict[tuple[str, str], int]]]:
    """Per patient: open alerts by severity, urgent summaries (newest first), and reading
    alerts of the last 7 days by measure and direction."""
    by_severity: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, severity, n in db.exec(
            select(Alert.patient_id, Alert.severity, func.count())
            .where(Alert.team_id == team_id, col(Alert.status).in_(_OPEN))
            .group_by(col(Alert.patient_id), col(Alert.severity))).all():
        by_severity[pid][severity] = n
    urgent: dict[int, list[str]] = defaultdict(list)
    for pid, summary in db.exec(
            select(Alert.patient_id, Alert.summary)
            .where(Alert.team_id == team_id, col(Alert.status).in_(_OPEN),
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


def _links(db: Session, team_id: int) -> dict[int, ChatLink]:
    return {link.patient_id: link for link in db.exec(
        select(ChatLink).join(Patient, col(Patient.id) == ChatLink.patient_id)
        .where(Patient.team_id == team_id, col(ChatLink.unlinked_at).is_(None))).all()}


def _silent_days(patient: Patient, link: ChatLink | None, now: datetime) -> int | None:
    if link is None:
        return None
    last = max(filter(None, (patient.last_contact_at, link.linked_at)))
    return max(0, (now - last).days)


def summaries(db: Session, team_id: int, *, search: str = "", sort: str = "risk",
              now: datetime | None = None, only: str = "") -> list[PatientSummary]:
    """The team's patients matching `search` (a name or a record number) and the filter
    `only` (one of FILTERS), in the order `sort`."""
    if sort not in SORTS:
        raise InvalidInput(f"sort: one of {', '.join(SORTS)}")
    if only and only not in FILTERS:
        raise InvalidInput(f"filter: one of {', '.join(FILTERS)}")
    now = now or utcnow()
    query = select(Patient).where(Patient.team_id == team_id)
    if term := search.strip()[:120]:
        query = query.where(or_(col(Patient.display_name).icontains(term),
                                col(Patient.record_number).icontains(term)))
    if only == "paused":
        query = query.where(Patient.status == PatientStatus.paused)
    chosen = db.exec(query).all()
    adherence, streaks = _adherence(db, team_id, now), _missed_in_a_row(db, team_id, now)
    today = _today(db, team_id, (p.timezone for p in chosen), now)
    by_severity, urgent, readings = _alerts(db, team_id, now)
    links = _links(db, team_id)
    found = []
    for patient in chosen:
        link = links.get(patient.id)
        chat = "not linked" if link is None else (
            "unreachable" if link.unreachable_at else "linked")
        taken_7, answered_7, taken_30, answered_30 = adherence.get(patient.id, (0, 0, 0, 0))
        severities = by_severity.get(patient.id, {})
        signals = triage.Signals(
            active=patient.status == PatientStatus.active,
            adherence_7=_percent(taken_7, answered_7), answered_7=answered_7,
            urgent=tuple(urgent.get(patient.id, ())),
            high_alerts=severities.get(AlertSeverity.high, 0),
            normal_alerts=severities.get(AlertSeverity.normal, 0),
            out_of_range=readings.get(patient.id, {}),
            missed_in_a_row=streaks.get(patient.id, 0), chat=chat,
            silent_days=_silent_days(patient, link, now),
            today=today.get(patient.id, triage.Today()))
        found.append(PatientSummary(
            patient=patient, adherence_7=signals.adherence_7,
            adherence_30=_percent(taken_30, answered_30),
            open_alerts=sum(severities.values()),
            urgent_alerts=severities.get(AlertSeverity.urgent, 0), chat=chat,
            assessment=triage.assess(signals), missed_in_a_row=signals.missed_in_a_row,
            today=signals.today))
    found = [s for s in found if _kept(s, only)]
    if sort == "monitoring":
        risks = risk.risks(db, [s.patient for s in found], now)
        found = [replace(s, monitoring=risks[s.patient.id]) for s in found]
    return sorted(found, key=_KEYS[sort])


def _kept(row: PatientSummary, only: str) -> bool:
    return {"not_linked": row.chat == "not linked", "unreachable": row.chat == "unreachable",
            "urgent": row.urgent_alerts > 0, "missed_today": row.today.missed > 0,
            }.get(only, True)


_NEVER = datetime.min.replace(tzinfo=utcnow().tzinfo)
_KEYS = {
    "risk": lambda s: s.risk(),
    "monitoring": lambda s: (*(s.monitoring or risk.Risk()).key(),
                             s.patient.display_name.lower()),
    "name": lambda s: (s.patient.display_name.lower(), s.patient.id),
    "adherence": lambda s: (s.adherence_7 if s.adherence_7 is not None else 101,
                            s.patient.display_name.lower()),
    "last_contact": lambda s: (-(s.patient.last_contact_at or _NEVER).timestamp(),
                               s.patient.display_name.lower()),
}


def ward(db: Session, team_id: int, *, search: str = "", sort: str = "risk", only: str = "",
         offset: int = 0, limit: int = PAGE_SIZE, now: datetime | None = None) -> Ward:
    """One page of `summaries`."""
    if offset < 0 or not 1 <= limit <= 500:
        raise InvalidInput("offset: 0 or more; limit: 1 to 500")
    found = summaries(db, team_id, search=search, sort=sort, now=now, only=only)
    return Ward(found[offset:offset + limit], len(found), offset, limit)
