"""A patient's own data: everything CareLoop holds about them (export) and its removal (erase).

The export is plain JSON a person can read: English keys, times in the patient's own zone,
no secrets (code hashes) and no channel identifiers (Telegram chat ids). Erasure removes
every row of the patient, their audit entries and their Rasa conversation; the audit log
then keeps a single `patient.erase` entry saying only that it happened.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import MetaData, Table, delete, inspect
from sqlmodel import Session, col, select

from assistant.config import get_settings
from assistant.domain import zones
from assistant.domain.days import DAY_NAMES
from assistant.services import audit
from assistant.storage.db import utcnow
from assistant.storage.models import (
    AdviceDelivery,
    AdviceItem,
    Alert,
    AuditEntry,
    CareTeam,
    ChatLink,
    DoseOccurrence,
    DoseSchedule,
    EnrolmentAttempt,
    EnrolmentCode,
    MeasureTarget,
    Medication,
    OutboxMessage,
    Patient,
    Reading,
)
from assistant.storage.tracker import tracker_engine


def _time(value: datetime | None, zone: tzinfo) -> str | None:
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def _profile(patient: Patient, zone: tzinfo) -> dict[str, Any]:
    quiet = ({"from": patient.quiet_start, "until": patient.quiet_end}
             if patient.quiet_start and patient.quiet_end else None)
    return {
        "name": patient.display_name, "time zone": patient.timezone,
        "language": patient.language, "status": str(patient.status),
        "consent given at": _time(patient.consent_at, zone),
        "conditions": list(patient.conditions), "goals": list(patient.goals),
        "quiet hours": quiet,
        "advice": {"time of day": patient.advice_time, "items per day": patient.advice_per_day},
        "last contact at": _time(patient.last_contact_at, zone),
        "registered at": _time(patient.created_at, zone),
    }


def _schedule(row: DoseSchedule) -> dict[str, Any]:
    days = row.days_of_week
    return {
        "times of day": list(row.times_of_day),
        "days of the week": [DAY_NAMES[d] for d in days] if days is not None else "every day",
        "every how many days": row.every_n_days, "start date": row.start_date.isoformat(),
        "end date": row.end_date.isoformat() if row.end_date else None,
        "number of doses": row.count, "as needed": row.as_needed, "active": row.active,
    }


def _medications(db: Session, pid: int, zone: tzinfo) -> list[dict[str, Any]]:
    result = []
    for med in db.exec(select(Medication).where(Medication.patient_id == pid)
                       .order_by(col(Medication.id))):
        rows = db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == med.id)
                       .order_by(col(DoseSchedule.id))).all()
        result.append({
            "name": med.name, "strength": med.strength, "dose": med.dose,
            "instructions": med.instructions, "purpose": med.purpose,
            "translations": med.translations,
            "if a dose is missed": med.missed_dose_instructions,
            "supply count": med.supply_count, "refill days": med.refill_days,
            "active": med.active, "added at": _time(med.created_at, zone),
            "stopped at": _time(med.stopped_at, zone),
            "schedules": [_schedule(row) for row in rows],
        })
    return result


def _doses(db: Session, pid: int, zone: tzinfo) -> list[dict[str, Any]]:
    names = {m.id: m.name for m in db.exec(select(Medication).where(Medication.patient_id == pid))}
    return [{"medication": names.get(occ.medication_id), "due at": _time(occ.due_at, zone),
             "status": str(occ.status), "reminder sent at": _time(occ.sent_at, zone),
             "outcome at": _time(occ.outcome_at, zone), "answered by": occ.outcome_source}
            for occ in db.exec(select(DoseOccurrence).where(DoseOccurrence.patient_id == pid)
                               .order_by(col(DoseOccurrence.due_at)))]


def _activity(db: Session, pid: int, team_id: int, zone: tzinfo) -> dict[str, Any]:
    readings = db.exec(select(Reading).where(Reading.patient_id == pid)
                       .order_by(col(Reading.taken_at)))
    alerts = db.exec(select(Alert).where(Alert.patient_id == pid).order_by(col(Alert.created_at)))
    advice = db.exec(select(AdviceDelivery, AdviceItem)
                     .join(AdviceItem, col(AdviceItem.id) == col(AdviceDelivery.advice_id))
                     .where(AdviceDelivery.patient_id == pid)
                     .order_by(col(AdviceDelivery.delivered_at)))
    outbox = db.exec(select(OutboxMessage).where(OutboxMessage.patient_id == pid)
                     .order_by(col(OutboxMessage.created_at)))
    entries = db.exec(select(AuditEntry).where(AuditEntry.patient_id == pid,
                                               AuditEntry.team_id == team_id)
                      .order_by(col(AuditEntry.at), col(AuditEntry.id)))
    return {
        "readings": [{"kind": r.kind, "value": r.value, "second value": r.value2,
                      "unit": r.unit, "taken at": _time(r.taken_at, zone), "source": r.source}
                     for r in readings],
        "alerts to the care team": [
            {"kind": str(a.kind), "severity": str(a.severity), "summary": a.summary,
             "status": str(a.status), "note": a.resolution_note,
             "raised at": _time(a.created_at, zone), "resolved at": _time(a.resolved_at, zone)}
            for a in alerts],
        "advice received": [{"title": item.title, "day": d.local_day.isoformat()}
                            for d, item in advice],
        "messages sent to you": [{"kind": str(m.kind), "text": m.text, "status": str(m.status),
                                  "sent at": _time(m.sent_at, zone)} for m in outbox],
        "who accessed or changed your data": [
            {"at": _time(e.at, zone), "by": e.actor, "action": e.action} for e in entries],
    }


_LEVELS = ("urgent_low", "warning_low", "warning_high", "urgent_high")


def _targets(db: Session, pid: int, zone: tzinfo) -> list[dict[str, Any]]:
    """The patient's own monitoring targets (where none, the team's default applies)."""
    rows = db.exec(select(MeasureTarget).where(MeasureTarget.patient_id == pid)
                   .order_by(col(MeasureTarget.id)))
    return [{"measure": r.measure, **{n.replace("_", " "): getattr(r, n) for n in _LEVELS},
             "second value (diastolic)": {n.replace("_", " "): getattr(r, n + "2")
                                          for n in _LEVELS} if r.measure == "blood_pressure"
             else None,
             "readings out of range before a warning": r.persist_count,
             "minutes out of range before a warning": r.persist_minutes,
             "a reading expected every (hours)": r.expect_every_hours,
             "preset": r.preset, "confirmed at": _time(r.confirmed_at, zone),
             "updated at": _time(r.updated_at, zone)} for r in rows]


def export(db: Session, patient: Patient, *, actor: str) -> dict[str, Any]:
    """Everything CareLoop holds about the patient, as JSON a person can read."""
    pid, zone = patient.id, zones.zone(patient.timezone)
    team = db.get(CareTeam, patient.team_id)
    links = db.exec(select(ChatLink).where(ChatLink.patient_id == pid)
                    .order_by(col(ChatLink.linked_at)))
    codes = db.exec(select(EnrolmentCode).where(EnrolmentCode.patient_id == pid)
                    .order_by(col(EnrolmentCode.created_at)))
    data: dict[str, Any] = {
        "exported at": _time(utcnow(), zone),
        "profile": _profile(patient, zone),
        "care team": team.name if team else None,
        "chat links": [{"channel": link.channel, "linked at": _time(link.linked_at, zone),
                        "unlinked at": _time(link.unlinked_at, zone),
                        "reachable": link.unreachable_at is None,
                        "unreachable since": _time(link.unreachable_at, zone)} for link in links],
        "enrolment codes": [{"issued at": _time(c.created_at, zone),
                             "expires at": _time(c.expires_at, zone),
                             "used at": _time(c.used_at, zone)} for c in codes],
        "medications": _medications(db, pid, zone),
        "dose history": _doses(db, pid, zone),
        "monitoring targets": _targets(db, pid, zone),
        **_activity(db, pid, patient.team_id, zone),
    }
    audit.record_read(db, actor=actor, action="patient.export", patient_id=pid)
    return data


def _erase_conversation(chat_ref: str) -> None:
    engine = tracker_engine(get_settings())
    if engine is None:
        return
    try:
        with engine.begin() as conn:
            if inspect(conn).has_table("events"):
                events = Table("events", MetaData(), autoload_with=conn)
                conn.execute(delete(events).where(events.c.sender_id == chat_ref))
    finally:
        engine.dispose()


def erase(db: Session, patient: Patient, *, actor: str) -> None:
    """Remove everything of the patient; the audit log keeps only that it happened."""
    pid, chat_ref = patient.id, patient.chat_ref
    chats = select(ChatLink.chat_id).where(ChatLink.patient_id == pid)
    meds = select(Medication.id).where(Medication.patient_id == pid)
    for statement in (
        delete(EnrolmentAttempt).where(col(EnrolmentAttempt.chat_id).in_(chats)),
        delete(OutboxMessage).where(col(OutboxMessage.patient_id) == pid),
        delete(AdviceDelivery).where(col(AdviceDelivery.patient_id) == pid),
        delete(DoseOccurrence).where(col(DoseOccurrence.patient_id) == pid),
        delete(DoseSchedule).where(col(DoseSchedule.medication_id).in_(meds)),
        delete(Medication).where(col(Medication.patient_id) == pid),
        delete(Reading).where(col(Reading.patient_id) == pid),
        delete(MeasureTarget).where(col(MeasureTarget.patient_id) == pid),
        delete(Alert).where(col(Alert.patient_id) == pid),
        delete(EnrolmentCode).where(col(EnrolmentCode.patient_id) == pid),
        delete(ChatLink).where(col(ChatLink.patient_id) == pid),
        delete(Patient).where(col(Patient.id) == pid),
        delete(AuditEntry).where(col(AuditEntry.patient_id) == pid,
                                 col(AuditEntry.team_id) == patient.team_id),
    ):
        db.execute(statement)
    audit.record(db, actor=actor, action="patient.erase", patient_id=pid,
                 team_id=patient.team_id)
    # Last: if it fails, the caller's unit of work rolls back and erasure can be retried.
    _erase_conversation(chat_ref)
