"""Alerts to the care team: the only writer of Alert rows, and the inbox the team works
through (listing, one alert, acknowledging, assigning, resolving).

Whatever needs a human raises one through `raise_alert`: a possible emergency, a question
or a symptom for the team, a reading out of range, a refill due, doses missed in a row, a
chat that blocked the bot or changed hands, a request to move a dose time.

Reading functions take the caller's team and find nothing outside it: an alert of
another team is `NotFound`, exactly like one that does not exist.

Every step of an alert is kept in its history (`AlertEvent`, written by `record_event`):
created, acknowledged, assigned (note: the member's name), replied (note: the text),
resolved (note: how, and whether it was useful), reopened, snoozed, marked, to_team; the
actor is "member:ID", "system" (CareLoop) or "patient".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from assistant import metrics, texts
from assistant.domain import safety
from assistant.domain.fields import clean_text
from assistant.errors import InvalidInput, NotFound
from assistant.services import audit
from assistant.storage.db import utcnow
from assistant.storage.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertSeverity,
    AlertSnooze,
    AlertStatus,
    CareTeam,
    Patient,
    TeamMember,
)

SUMMARY_CHARS = 2000  # what the table holds
SNOOZE_MINUTES = (15, 24 * 60)  # the shortest and longest snooze
_SEVERITY_ORDER = {AlertSeverity.urgent: 0, AlertSeverity.high: 1, AlertSeverity.normal: 2}
_STATUS_ORDER = {AlertStatus.open: 0, AlertStatus.acknowledged: 1, AlertStatus.confirming: 2,
                 AlertStatus.resolved: 3}
# The kinds that carry the patient's own words: the patient raised them.
_BY_PATIENT = {AlertKind.question, AlertKind.symptom, AlertKind.emergency,
               AlertKind.schedule_change}


def record_event(db: Session, alert: Alert, action: str, *, actor: str,
                 note: str | None = None, at: datetime | None = None) -> None:
    """One step of the alert's history: who did what, when (and the reply or reason)."""
    db.add(AlertEvent(alert_id=alert.id, action=action, actor=actor[:120],
                      note=note[:2000] if note else None, at=at or utcnow()))
    if action == "created":
        metrics.ALERTS_OPENED.labels(kind=str(alert.kind), severity=str(alert.severity)).inc()


def raise_alert(db: Session, *, patient: Patient, kind: AlertKind, summary: str,
                severity: AlertSeverity = AlertSeverity.normal,
                once: bool = False) -> Alert | None:
    """An alert for the patient's care team. With `once`, none while an alert of this kind
    about the patient is still unresolved (then None)."""
    if once and db.exec(select(Alert.id).where(
            Alert.patient_id == patient.id, Alert.kind == kind,
            Alert.status != AlertStatus.resolved)).first():
        return None
    alert = Alert(patient_id=patient.id, team_id=patient.team_id, kind=kind, severity=severity,
                  summary=summary[:SUMMARY_CHARS])
    db.add(alert)
    db.flush()
    record_event(db, alert, "created", actor="patient" if kind in _BY_PATIENT else "system",
                 at=alert.created_at)
    return alert


def open_monitoring(db: Session, *, patient: Patient, kind: AlertKind,
                    severity: AlertSeverity, summary: str, measure: str,
                    direction: str | None, evidence_at: datetime, at: datetime,
                    confirming_since: datetime | None = None) -> Alert:
    """A monitoring alert: its measure and direction, and the effective time of the
    reading that triggered it. With `confirming_since` (the moment the patient is asked to
    re-measure; its `created_at`) it waits for the patient before it is the team's."""
    alert = Alert(patient_id=patient.id, team_id=patient.team_id, kind=kind, severity=severity,
                  summary=summary[:SUMMARY_CHARS], measure=measure, direction=direction,
                  evidence_at=evidence_at, last_finding_at=at)
    if confirming_since is not None:
        alert.status, alert.created_at = AlertStatus.confirming, confirming_since
    db.add(alert)
    db.flush()
    record_event(db, alert, "created", actor="system", at=alert.created_at,
                 note=texts.t("alert_event.confirming") if confirming_since else None)
    return alert


def update_monitoring(db: Session, alert: Alert, *, severity: AlertSeverity, summary: str,
                      evidence_at: datetime, at: datetime, news: bool = False) -> None:
    """New evidence for an open monitoring alert: it says the latest (and never becomes
    less severe while open). `news` (it turned urgent): an acknowledged alert is the
    team's to look at again, and its escalation ladder starts."""
    if severity == AlertSeverity.urgent:
        alert.severity = severity
    if news and alert.status == AlertStatus.acknowledged:
        alert.status, alert.acknowledged_at = AlertStatus.open, None
        record_event(db, alert, "reopened", actor="system", note=texts.t("alert_event.now_urgent"))
    alert.summary = summary[:SUMMARY_CHARS]
    alert.evidence_at = evidence_at
    alert.last_finding_at = at
    db.add(alert)


def clear_monitoring(db: Session, alert: Alert, *, note: str) -> None:
    """All clear: the values came back into range; the alert is resolved and says so (a
    clinician can still mark it useful or not)."""
    alert.status = AlertStatus.resolved
    alert.resolved_at = utcnow()
    alert.resolution_note = note[:2000]
    db.add(alert)
    record_event(db, alert, "resolved", actor="system", note=alert.resolution_note)


def to_team(db: Session, alert: Alert, *, summary: str) -> None:
    """A monitoring alert that waited for the patient to re-measure becomes the team's:
    `summary` says why (a second reading, the patient's answer, or no answer)."""
    if alert.status == AlertStatus.confirming:
        alert.status = AlertStatus.open
        record_event(db, alert, "to_team", actor="system", note=summary)
    alert.summary = summary[:SUMMARY_CHARS]
    db.add(alert)


def emergency_guidance(team: CareTeam | None, language: str | None = None) -> str:
    """What a patient who may be in an emergency is told at once: the team's numbers, in
    the patient's language."""
    crisis = safety.crisis_line(team) or texts.t("safety.crisis_line", language)
    return texts.t("safety.emergency", language, number=safety.emergency_number(team),
                   crisis=crisis)


def raise_emergency(db: Session, patient: Patient, text: str) -> str:
    """Record an urgent alert for the patient's team, with the patient's words (a nurse
    triages chest pain and a wish to die differently); return what to tell the patient."""
    team = db.get(CareTeam, patient.team_id)
    raise_alert(db, patient=patient, kind=AlertKind.emergency, severity=AlertSeverity.urgent,
                summary=texts.t("alert.emergency", text=text))
    return emergency_guidance(team, patient.language)


def relay_question(db: Session, patient: Patient, text: str) -> str:
    """Pass the patient's question to their care team; return what to tell the patient."""
    raise_alert(db, patient=patient, kind=AlertKind.question,
                summary=texts.t("alert.question", text=text))
    return texts.t("safety.relayed", patient.language)


def alerts(db: Session, team_id: int, *, status: AlertStatus | None = None,
           patient_id: int | None = None) -> list[Alert]:
    """Open before acknowledged before confirming (waiting for the patient to re-measure)
    before resolved; urgent first; newest first."""
    query = select(Alert).where(Alert.team_id == team_id)
    if status is not None:
        query = query.where(Alert.status == status)
    if patient_id is not None:
        query = query.where(Alert.patient_id == patient_id)
    found = db.exec(query.order_by(col(Alert.created_at).desc())).all()
    return sorted(found, key=lambda a: (_STATUS_ORDER[a.status], _SEVERITY_ORDER[a.severity]))


def get_alert(db: Session, team_id: int, alert_id: int) -> Alert:
    alert = db.get(Alert, alert_id)
    if alert is None or alert.team_id != team_id:
        raise NotFound(f"no alert {alert_id}")
    return alert


def update_alert(db: Session, alert: Alert, *, actor: str, status: AlertStatus | None = None,
                 assigned_to: int | None = None, note: str | None = None,
                 useful: bool | None = None) -> Alert:
    """Acknowledge, assign (to a member of the same team), resolve (with a note, and
    whether the alert was useful) or reopen; each change is a step of its history."""
    if status == AlertStatus.confirming:
        raise InvalidInput("status: confirming is set by CareLoop when it asks the patient "
                           "to re-measure; use acknowledged or resolved")
    was = alert.status
    if assigned_to is not None:
        member = db.get(TeamMember, assigned_to)
        if member is None or member.team_id != alert.team_id or not member.active:
            raise InvalidInput(f"assigned_to: no active member {assigned_to} in this team")
        if alert.assigned_to != assigned_to:
            record_event(db, alert, "assigned", actor=actor, note=member.name)
        alert.assigned_to = assigned_to
    if note is not None:
        alert.resolution_note = clean_text(note, "note", 2000, required=False) or None
    if status == AlertStatus.resolved and not alert.resolution_note:
        raise InvalidInput("note: say how the alert was resolved")
    if useful is not None:
        alert.useful = useful
    if status is not None:
        alert.status = status
        alert.resolved_at = utcnow() if status == AlertStatus.resolved else None
        if status == AlertStatus.acknowledged and alert.acknowledged_at is None:
            alert.acknowledged_at = utcnow()
    _record_change(db, alert, was, actor=actor, useful=useful)
    db.add(alert)
    audit.record(db, actor=actor, action="alert.update", patient_id=alert.patient_id,
                 detail=f"alert {alert.id} {alert.status}")
    return alert


def _record_change(db: Session, alert: Alert, was: AlertStatus, *, actor: str,
                   useful: bool | None) -> None:
    said = None if useful is None else texts.t(
        "alert_event.useful" if useful else "alert_event.not_useful")
    if alert.status == was:
        if said is not None:
            record_event(db, alert, "marked", actor=actor, note=said)
    elif alert.status == AlertStatus.resolved:
        record_event(db, alert, "resolved", actor=actor,
                     note=" — ".join(p for p in (alert.resolution_note, said) if p))
    elif alert.status == AlertStatus.acknowledged and was == AlertStatus.open:
        record_event(db, alert, "acknowledged", actor=actor)
    else:
        record_event(db, alert, "reopened" if was == AlertStatus.resolved
                     or alert.status == AlertStatus.open else str(alert.status), actor=actor)


def snooze(db: Session, alert: Alert, *, minutes: int, actor: str,
           now: datetime | None = None) -> AlertSnooze:
    """Hold back news of the alert's measure and direction for `minutes` (an urgent value
    still comes through; a high's snooze never silences a low). Audited."""
    if alert.measure is None:
        raise InvalidInput("alert: only a monitoring alert can be snoozed")
    low, high = SNOOZE_MINUTES
    if not low <= minutes <= high:
        raise InvalidInput(f"minutes: between {low} and {high}")
    now = now or utcnow()
    held = AlertSnooze(patient_id=alert.patient_id, alert_id=alert.id, measure=alert.measure,
                       direction=alert.direction, until=now + timedelta(minutes=minutes),
                       created_by=actor[:120], created_at=now)
    db.add(held)
    record_event(db, alert, "snoozed", actor=actor, note=f"{minutes} min", at=now)
    audit.record(db, actor=actor, action="alert.snooze", patient_id=alert.patient_id,
                 detail=f"alert {alert.id} snoozed {minutes} min")
    return held


def snoozed(db: Session, patient_id: int, *, now: datetime) -> dict[tuple[str, str | None],
                                                                   datetime]:
    """Per measure and direction, when the patient's snoozes in force at `now` end."""
    rows = db.exec(select(AlertSnooze).where(AlertSnooze.patient_id == patient_id,
                                             col(AlertSnooze.until) > now)).all()
    found: dict[tuple[str, str | None], datetime] = {}
    for row in rows:
        key = (row.measure, row.direction)
        found[key] = max(found.get(key, row.until), row.until)
    return found
