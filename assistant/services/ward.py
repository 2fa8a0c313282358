"""The patient list of a whole ward, fast: adherence (7 and 30 days), open and urgent
alerts, chat status, last contact, doses missed in a row, readings out of range and
today's doses, gathered for the whole team by a few grouped queries (services/ward_facts.py;
adherence over 30 days only for the page shown), weighed by services/triage.py, then
filtered, sorted and paged. Read only; it sees only the caller's team.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from assistant.errors import InvalidInput
from assistant.services import risk, triage
from assistant.services import ward_facts as facts
from assistant.storage.db import utcnow
from assistant.storage.models import (
    AlertSeverity,
    Patient,
    PatientStatus,
)

# "risk": services/triage.py; "monitoring": by what the readings say (services/risk.py).
SORTS = ("risk", "monitoring", "name", "adherence", "last_contact")
FILTERS = {"not_linked": "not linked", "unreachable": "unreachable", "paused": "paused",
           "urgent": "urgent alert", "missed_today": "missed today"}
PAGE_SIZE = 50


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


def with_month(db: Session, team_id: int, rows: list[PatientSummary],
               now: datetime | None = None) -> list[PatientSummary]:
    """The rows with their adherence over 30 days (one query for them all)."""
    month = facts.adherence(db, team_id, now or utcnow(), 30, [r.patient.id for r in rows])
    return [replace(r, adherence_30=_percent(*month.get(r.patient.id, (0, 0, 0))[:2]))
            for r in rows]


def _silent_days(patient: Any, link: tuple[datetime, datetime | None] | None,
                 now: datetime) -> int | None:
    if link is None:
        return None
    last: datetime = max(filter(None, (patient.last_contact_at, link[0])))
    return max(0, (now - last).days)


def summaries(db: Session, team_id: int, *, search: str = "", sort: str = "risk",
              now: datetime | None = None, only: str = "",
              full: bool = True) -> list[PatientSummary]:
    """The team's patients matching `search` (a name or a record number) and the filter
    `only` (one of FILTERS), in the order `sort`. Not `full`: the rows' patients are plain
    table rows (quick to load by the thousand) and their adherence over 30 days is not
    gathered (`ward` does both for the page it shows)."""
    if sort not in SORTS:
        raise InvalidInput(f"sort: one of {', '.join(SORTS)}")
    if only and only not in FILTERS:
        raise InvalidInput(f"filter: one of {', '.join(FILTERS)}")
    now = now or utcnow()
    query = sa_select(*_BRIEF).where(facts.team_join(team_id)[1])
    if term := search.strip()[:120]:
        query = query.where(or_(col(Patient.display_name).icontains(term),
                                col(Patient.record_number).icontains(term)))
    if only == "paused":
        query = query.where(col(Patient.status) == PatientStatus.paused)
    chosen = db.execute(query).all()
    adherence = facts.adherence(db, team_id, now, 7)
    today = facts.today(db, team_id, (p.timezone for p in chosen), now)
    by_severity, urgent, readings = facts.alerts(db, team_id, now)
    links = facts.links(db, team_id)
    found = []
    for patient in chosen:
        link = links.get(patient.id)
        chat = "not linked" if link is None else (
            "unreachable" if link[1] else "linked")
        taken_7, answered_7, streak = adherence.get(patient.id, (0, 0, 0))
        severities = by_severity.get(patient.id, {})
        signals = triage.Signals(
            active=patient.status == PatientStatus.active,
            adherence_7=_percent(taken_7, answered_7), answered_7=answered_7,
            urgent=tuple(urgent.get(patient.id, ())),
            high_alerts=severities.get(AlertSeverity.high, 0),
            normal_alerts=severities.get(AlertSeverity.normal, 0),
            out_of_range=readings.get(patient.id, {}),
            missed_in_a_row=streak, chat=chat,
            silent_days=_silent_days(patient, link, now),
            today=today.get(patient.id, triage.Today()))
        found.append(PatientSummary(
            patient=cast(Patient, patient), adherence_7=signals.adherence_7,
            adherence_30=None,
            open_alerts=sum(severities.values()),
            urgent_alerts=severities.get(AlertSeverity.urgent, 0), chat=chat,
            assessment=triage.assess(signals), missed_in_a_row=signals.missed_in_a_row,
            today=signals.today))
    found = [s for s in found if _kept(s, only)]
    if sort == "monitoring":
        found = _real(db, found)
        risks = risk.risks(db, [s.patient for s in found], now)
        found = [replace(s, monitoring=risks[s.patient.id]) for s in found]
    found.sort(key=_KEYS[sort])
    return with_month(db, team_id, _real(db, found), now) if full else found


def _real(db: Session, rows: list[PatientSummary]) -> list[PatientSummary]:
    """The rows with their patients as full objects (one query)."""
    ids = [r.patient.id for r in rows]
    found = {p.id: p for p in db.exec(select(Patient).where(col(Patient.id).in_(ids))).all()
             } if ids else {}
    return [replace(r, patient=found[r.patient.id]) for r in rows]


def _kept(row: PatientSummary, only: str) -> bool:
    return {"not_linked": row.chat == "not linked", "unreachable": row.chat == "unreachable",
            "urgent": row.urgent_alerts > 0, "missed_today": row.today.missed > 0,
            }.get(only, True)


# What ranking needs of every patient (the page's patients are then read in full).
_BRIEF = (col(Patient.id), col(Patient.display_name), col(Patient.status),
          col(Patient.timezone), col(Patient.last_contact_at), col(Patient.birth_date),
          col(Patient.record_number))
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
    found = summaries(db, team_id, search=search, sort=sort, now=now, only=only, full=False)
    page = with_month(db, team_id, _real(db, found[offset:offset + limit]), now)
    return Ward(page, len(found), offset, limit)
