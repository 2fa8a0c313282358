"""What the care team sees of its patients, shared by the console and the REST API: the
patient list with risk and adherence, a week of dose times, daily adherence, what
happened (the timeline) and readings. Read only.

Every function takes the caller's team (or a patient already found within it) and sees
nothing outside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from assistant.domain import dues, zones
from assistant.errors import InvalidInput
from assistant.services import doses, enrolment, medications, risk
from assistant.storage.db import utcnow
from assistant.storage.models import (
    Alert,
    AlertSeverity,
    AlertStatus,
    AuditEntry,
    DoseOccurrence,
    DoseStatus,
    Medication,
    Patient,
    Reading,
    TeamMember,
)

# "monitoring": by what the patient's readings say (services/risk.py gives the order).
SORTS = ("risk", "monitoring", "name", "adherence", "last_contact")


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    adherence_7: int | None
    adherence_30: int | None
    open_alerts: int
    urgent_alerts: int
    chat: str  # "linked", "unreachable" or "not linked"
    monitoring: risk.Risk | None = None   # when sorted by monitoring risk

    def risk(self) -> tuple[int, int, int, str]:
        """Sort key: urgent alerts, then open alerts, then the lowest adherence first."""
        adherence = self.adherence_7 if self.adherence_7 is not None else 101
        return (-self.urgent_alerts, -self.open_alerts, adherence,
                self.patient.display_name.lower())


def chat_status(db: Session, patient_id: int) -> str:
    link = enrolment.link_of(db, patient_id)
    if link is None:
        return "not linked"
    return "unreachable" if link.unreachable_at else "linked"


def summaries(db: Session, team_id: int, *, search: str = "", sort: str = "risk",
              now: datetime | None = None) -> list[PatientSummary]:
    if sort not in SORTS:
        raise InvalidInput(f"sort: one of {', '.join(SORTS)}")
    query = select(Patient).where(Patient.team_id == team_id)
    if search.strip():
        query = query.where(col(Patient.display_name).icontains(search.strip()[:120]))
    alerts = {(pid, sev): n for pid, sev, n in db.exec(
        select(Alert.patient_id, Alert.severity, func.count()).where(
            Alert.team_id == team_id,
            col(Alert.status).in_((AlertStatus.open, AlertStatus.acknowledged)))
        .group_by(col(Alert.patient_id), col(Alert.severity))).all()}
    found = []
    for patient in db.exec(query).all():
        open_alerts = sum(n for (pid, _), n in alerts.items() if pid == patient.id)
        found.append(PatientSummary(
            patient=patient,
            adherence_7=doses.adherence(db, patient.id, 7, now).percent,
            adherence_30=doses.adherence(db, patient.id, 30, now).percent,
            open_alerts=open_alerts,
            urgent_alerts=alerts.get((patient.id, AlertSeverity.urgent), 0),
            chat=chat_status(db, patient.id)))
    if sort == "monitoring":
        risks = risk.risks(db, [s.patient for s in found], now)
        found = [replace(s, monitoring=risks[s.patient.id]) for s in found]
    keys = {
        "risk": lambda s: s.risk(),
        "monitoring": lambda s: (*(s.monitoring or risk.Risk()).key(),
                                 s.patient.display_name.lower()),
        "name": lambda s: (s.patient.display_name.lower(),),
        "adherence": lambda s: (s.adherence_7 if s.adherence_7 is not None else 101,),
        "last_contact": lambda s: (-(s.patient.last_contact_at or datetime.min.replace(
            tzinfo=utcnow().tzinfo)).timestamp(),),
    }
    return sorted(found, key=keys[sort])


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


@dataclass(frozen=True)
class DayAdherence:
    day: date
    taken: int
    answered: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.taken / self.answered) if self.answered else None


def daily_adherence(db: Session, patient: Patient, days: int = 30,
                    now: datetime | None = None) -> list[DayAdherence]:
    """Taken / (taken + skipped + missed) per local day, oldest first."""
    now = now or utcnow()
    tz = zones.zone(patient.timezone)
    occs = db.exec(select(DoseOccurrence).where(
        DoseOccurrence.patient_id == patient.id,
        DoseOccurrence.due_at >= now - timedelta(days=days), DoseOccurrence.due_at <= now,
        col(DoseOccurrence.status).in_([DoseStatus.taken, DoseStatus.skipped,
                                        DoseStatus.missed]))).all()
    today = now.astimezone(tz).date()
    series = {today - timedelta(days=n): [0, 0] for n in range(days)}
    for occ in occs:
        counts = series.get(occ.due_at.astimezone(tz).date())
        if counts is not None:
            counts[0] += occ.status == DoseStatus.taken
            counts[1] += 1
    return [DayAdherence(day, taken, answered)
            for day, (taken, answered) in sorted(series.items())]


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
    member_ids = {int(e.actor[7:]) for e in entries
                  if e.actor.startswith("member:") and e.actor[7:].isdecimal()}
    names = {m.id: m.name for m in db.exec(select(TeamMember).where(
        col(TeamMember.id).in_(member_ids))).all()} if member_ids else {}

    def who(actor: str) -> str:
        number = actor[7:] if actor.startswith("member:") else ""
        if number.isdecimal():
            return names.get(int(number), "a former member")
        return _ACTORS.get(actor.split(":")[0], actor)

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
