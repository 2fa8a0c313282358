"""What the care team sees of its patients, shared by the console and the REST API: the
patient list with risk and adherence, a week of dose times, daily adherence, what
happened (the timeline) and readings. Read only.

Every function takes the caller's team (or a patient already found within it) and sees
nothing outside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from assistant.domain import adherence_chart, dues, zones
from assistant.services import audit, enrolment, medications

# The patient list: services/ward.py gathers it for the whole team in a few grouped
# queries, services/triage.py gives the order and the reasons (re-exported here).
from assistant.services.ward import FILTERS as FILTERS
from assistant.services.ward import SORTS as SORTS
from assistant.services.ward import PatientSummary as PatientSummary
from assistant.services.ward import summaries as summaries
from assistant.storage.db import utcnow
from assistant.storage.models import (
    Alert,
    AuditEntry,
    DoseOccurrence,
    DoseStatus,
    Medication,
    Patient,
    Reading,
)


def chat_status(db: Session, patient_id: int) -> str:
    link = enrolment.link_of(db, patient_id)
    if link is None:
        return "not linked"
    return "unreachable" if link.unreachable_at else "linked"


@dataclass(frozen=True)
class WeekRow:
    medication_id: int
    label: str
    dose: str
    instructions: str
    as_needed: bool
    times: list[list[str]]  # one list of local "HH:MM" per day


def week(db: Session, patient: Patient, first_day: date | None = None) -> tuple[list[date],
                                                                                   list[WeekRow]]:
    """The seven days from `first_day` (today, local) and each medication's dose times."""
    tz = zones.zone(patient.timezone)
    first_day = first_day or utcnow().astimezone(tz).date()
    days = [first_day + timedelta(days=n) for n in range(7)]
    start = dues.to_utc(first_day, datetime.min.time(), tz)
    end = dues.to_utc(first_day + timedelta(days=7), datetime.min.time(), tz)
    rows = []
    for med, row in medications.medications(db, patient.id):
        times: list[list[str]] = [[] for _ in days]
        for due, _ in medications.dues(db, med.id, tz, start, end):
            local = due.astimezone(tz)
            times[(local.date() - first_day).days].append(local.strftime("%H:%M"))
        rows.append(WeekRow(med.id, med.label, med.dose, med.instructions,
                            bool(row and row.as_needed), times))
    return days, rows


DayAdherence = adherence_chart.Day   # taken, skipped, missed; answered and percent


def daily_adherence(db: Session, patient: Patient, days: int = 30,
                    now: datetime | None = None) -> list[DayAdherence]:
    """Taken, skipped and missed doses per local day (the last `days`, today included),
    oldest first; a day with nothing due has all three at 0."""
    now = now or utcnow()
    tz = zones.zone(patient.timezone)
    today = now.astimezone(tz).date()
    first = dues.to_utc(today - timedelta(days=days - 1), datetime.min.time(), tz)
    occs = db.exec(select(DoseOccurrence.due_at, DoseOccurrence.status).where(
        DoseOccurrence.patient_id == patient.id,
        col(DoseOccurrence.due_at) >= first, col(DoseOccurrence.due_at) <= now,
        col(DoseOccurrence.status).in_([DoseStatus.taken, DoseStatus.skipped,
                                        DoseStatus.missed]))).all()
    order = (DoseStatus.taken, DoseStatus.skipped, DoseStatus.missed)
    series = {today - timedelta(days=n): [0, 0, 0] for n in range(days)}
    for due_at, status in occs:
        counts = series.get(due_at.astimezone(tz).date())
        if counts is not None:
            counts[order.index(status)] += 1
    return [DayAdherence(day, *counts) for day, counts in sorted(series.items())]


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str


def timeline(db: Session, patient: Patient, limit: int = 50) -> list[Event]:
    """What happened, newest first: dose outcomes, readings, alerts, plan changes. No
    conversation text."""
    events = [Event(occ.outcome_at or occ.due_at, f"{med.label}: {occ.status}")
              for occ, med in db.exec(
                  select(DoseOccurrence, Medication)
                  .join(Medication, col(Medication.id) == DoseOccurrence.medication_id)
                  .where(DoseOccurrence.patient_id == patient.id,
                         col(DoseOccurrence.status).in_([DoseStatus.taken, DoseStatus.skipped,
                                                         DoseStatus.missed]))
                  .order_by(col(DoseOccurrence.due_at).desc()).limit(limit)).all()]
    events += [Event(r.taken_at, f"reading: {r.kind.replace('_', ' ')}") for r in db.exec(
        select(Reading).where(Reading.patient_id == patient.id)
        .order_by(col(Reading.taken_at).desc()).limit(limit)).all()]
    events += [Event(a.created_at, f"alert: {a.kind.replace('_', ' ')} ({a.status})")
               for a in db.exec(select(Alert).where(Alert.patient_id == patient.id)
                                .order_by(col(Alert.created_at).desc()).limit(limit)).all()]
    entries = db.exec(select(AuditEntry).where(
        AuditEntry.patient_id == patient.id, AuditEntry.team_id == patient.team_id,
        col(AuditEntry.action).notin_(["patient.view", "patient.export"]))
        .order_by(col(AuditEntry.at).desc()).limit(limit)).all()
    events += [Event(e.at, what) for e, what in zip(entries, _changes(db, entries), strict=True)]
    return sorted(events, key=lambda e: e.at, reverse=True)[:limit]


_DONE = {"medication.add": "added", "medication.stop": "stopped",
         "medication.restart": "restarted", "medication.update": "label changed",
         "schedule.replace": "new schedule"}
_ACTORS = {"patient": "the patient (chat)", "cli": "the command line", "demo": "the demo"}
_ABOUT = re.compile(r"medication (\d+)(?:: (.*))?", re.DOTALL)


def _changes(db: Session, entries: Sequence[AuditEntry]) -> list[str]:
    """Each audit entry as a nurse reads it: "Metformin 500 mg stopped by Nurse Ng: side
    effects", with the medicine's and the member's names (one query for each)."""
    about = [_ABOUT.fullmatch(e.detail or "") for e in entries]
    med_ids = {int(m.group(1)) for m in about if m}
    labels = {m.id: m.label for m in db.exec(select(Medication).where(
        col(Medication.id).in_(med_ids))).all()} if med_ids else {}
    names = audit.member_names(db, {e.actor for e in entries})

    def who(actor: str) -> str:
        kind, _, number = actor.partition(":")
        if kind == "member" and number.isdecimal():
            return names.get(actor, "a former member")
        return _ACTORS.get(kind, actor)

    shown = []
    for entry, match in zip(entries, about, strict=True):
        if match and entry.action in _DONE:
            label = labels.get(int(match.group(1)), "a medication")
            shown.append(f"{label} {_DONE[entry.action]} by {who(entry.actor)}"
                         + (f": {match.group(2)}" if match.group(2) else ""))
        else:
            shown.append(f"{entry.action.replace('.', ' ')} by {who(entry.actor)}")
    return shown


def readings(db: Session, patient: Patient, limit: int = 100) -> list[Reading]:
    return list(db.exec(select(Reading).where(Reading.patient_id == patient.id)
                        .order_by(col(Reading.taken_at).desc()).limit(limit)).all())
