"""What the care team sees and does, shared by the console and the REST API.

Every function takes the caller's team and finds nothing outside it: a patient, an
alert or an advice item of another team is `NotFound`, exactly like one that does
not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from assistant.domain import schedules
from assistant.domain.fields import clean_text
from assistant.errors import InvalidInput, NotFound
from assistant.services import audit, doses, enrolment, medications
from assistant.storage.db import utcnow
from assistant.storage.models import (
    PRIORITY,
    AdviceItem,
    Alert,
    AlertSeverity,
    AlertStatus,
    ApiToken,
    AuditEntry,
    DoseOccurrence,
    DoseStatus,
    Medication,
    MessageKind,
    OutboxMessage,
    Patient,
    Reading,
    TeamMember,
)

SORTS = ("risk", "name", "adherence", "last_contact")
_SEVERITY_ORDER = {AlertSeverity.urgent: 0, AlertSeverity.high: 1, AlertSeverity.normal: 2}


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    adherence_7: int | None
    adherence_30: int | None
    open_alerts: int
    urgent_alerts: int
    chat: str  # "linked", "unreachable" or "not linked"

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
            Alert.team_id == team_id, Alert.status != AlertStatus.resolved)
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
    keys = {
        "risk": lambda s: s.risk(),
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
    tz = schedules.zone(patient.timezone)
    first_day = first_day or utcnow().astimezone(tz).date()
    days = [first_day + timedelta(days=n) for n in range(7)]
    start = schedules.to_utc(first_day, datetime.min.time(), tz)
    end = schedules.to_utc(first_day + timedelta(days=7), datetime.min.time(), tz)
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
    tz = schedules.zone(patient.timezone)
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
    events += [Event(e.at, e.action.replace(".", " ")) for e in db.exec(
        select(AuditEntry).where(
            AuditEntry.patient_id == patient.id, AuditEntry.team_id == patient.team_id,
            col(AuditEntry.action).notin_(["patient.view", "patient.export"]))
        .order_by(col(AuditEntry.at).desc()).limit(limit)).all()]
    return sorted(events, key=lambda e: e.at, reverse=True)[:limit]


def readings(db: Session, patient: Patient, limit: int = 100) -> list[Reading]:
    return list(db.exec(select(Reading).where(Reading.patient_id == patient.id)
                        .order_by(col(Reading.taken_at).desc()).limit(limit)).all())


# Alerts ------------------------------------------------------------------------------

def alerts(db: Session, team_id: int, *, status: AlertStatus | None = None,
           patient_id: int | None = None) -> list[Alert]:
    """Open before acknowledged before resolved; urgent first; newest first."""
    query = select(Alert).where(Alert.team_id == team_id)
    if status is not None:
        query = query.where(Alert.status == status)
    if patient_id is not None:
        query = query.where(Alert.patient_id == patient_id)
    order = {AlertStatus.open: 0, AlertStatus.acknowledged: 1, AlertStatus.resolved: 2}
    found = db.exec(query.order_by(col(Alert.created_at).desc())).all()
    return sorted(found, key=lambda a: (order[a.status], _SEVERITY_ORDER[a.severity]))


def get_alert(db: Session, team_id: int, alert_id: int) -> Alert:
    alert = db.get(Alert, alert_id)
    if alert is None or alert.team_id != team_id:
        raise NotFound(f"no alert {alert_id}")
    return alert


def update_alert(db: Session, alert: Alert, *, actor: str, status: AlertStatus | None = None,
                 assigned_to: int | None = None, note: str | None = None) -> Alert:
    """Acknowledge, assign (to a member of the same team) or resolve (with a note)."""
    if assigned_to is not None:
        member = db.get(TeamMember, assigned_to)
        if member is None or member.team_id != alert.team_id or not member.active:
            raise InvalidInput(f"assigned_to: no active member {assigned_to} in this team")
        alert.assigned_to = assigned_to
    if note is not None:
        alert.resolution_note = clean_text(note, "note", 2000, required=False) or None
    if status == AlertStatus.resolved and not alert.resolution_note:
        raise InvalidInput("note: say how the alert was resolved")
    if status is not None:
        alert.status = status
        alert.resolved_at = utcnow() if status == AlertStatus.resolved else None
    db.add(alert)
    audit.record(db, actor=actor, action="alert.update", patient_id=alert.patient_id,
                 detail=f"alert {alert.id} {alert.status}")
    return alert


def reply(db: Session, patient: Patient, text: str, *, actor: str) -> OutboxMessage:
    """A message from the care team, sent to the patient's chat through the outbox."""
    text = text.strip()
    if not text:
        raise InvalidInput("text: the reply is empty")
    if len(text) > 3500:
        raise InvalidInput("text: at most 3500 characters")
    if enrolment.link_of(db, patient.id) is None:
        raise InvalidInput("the patient has no linked chat yet: give them an enrolment code")
    message = OutboxMessage(patient_id=patient.id, kind=MessageKind.reply,
                            priority=PRIORITY[MessageKind.reply],
                            text=f"Message from your care team:\n{text}")
    db.add(message)
    db.flush()
    audit.record(db, actor=actor, action="patient.reply", patient_id=patient.id,
                 detail=f"outbox {message.id}")
    return message


# Advice ------------------------------------------------------------------------------

def _tags(tags: list[str]) -> list[str]:
    cleaned = sorted({" ".join(t.lower().split())[:40] for t in tags if t.strip()})
    if len(cleaned) > 20:
        raise InvalidInput("tags: at most 20")
    return cleaned


def save_advice(db: Session, team_id: int, *, title: str, body: str, tags: list[str],
                actor: str, item: AdviceItem | None = None, active: bool = True) -> AdviceItem:
    item = item or AdviceItem(team_id=team_id, title="", body="")
    item.title = clean_text(title, "title", 120)
    item.body = clean_text(body, "body", 2000)
    item.tags = _tags(tags)
    item.active = active
    db.add(item)
    db.flush()
    audit.record(db, actor=actor, action="advice.save", detail=f"advice {item.id}")
    return item


def advice_items(db: Session, team_id: int) -> list[AdviceItem]:
    return list(db.exec(select(AdviceItem).where(AdviceItem.team_id == team_id)
                        .order_by(col(AdviceItem.title))).all())


def get_advice(db: Session, team_id: int, advice_id: int) -> AdviceItem:
    item = db.get(AdviceItem, advice_id)
    if item is None or item.team_id != team_id:
        raise NotFound(f"no advice item {advice_id}")
    return item


def audit_entries(db: Session, team_id: int, *, patient_id: int | None = None,
                  limit: int = 500) -> list[AuditEntry]:
    """The team's audit log: what its members did, and anything about its patients (each
    entry names its team: a patient id alone could be an erased patient's of another)."""
    query = select(AuditEntry).where(AuditEntry.team_id == team_id)
    if patient_id is not None:
        query = query.where(AuditEntry.patient_id == patient_id)
    return list(db.exec(query.order_by(col(AuditEntry.at).desc()).limit(limit)).all())


def members(db: Session, team_id: int) -> list[TeamMember]:
    return list(db.exec(select(TeamMember).where(TeamMember.team_id == team_id)
                        .order_by(col(TeamMember.name))).all())


def tokens(db: Session, member_id: int) -> list[ApiToken]:
    return list(db.exec(select(ApiToken).where(ApiToken.member_id == member_id)
                        .order_by(col(ApiToken.created_at).desc())).all())
