"""Monitoring wired in: after every stored batch of readings (chat, console, API, FHIR,
imports) `evaluate` runs every detector over the patient's recent readings and turns what
they find into alerts through `services.alerts` (open, update with new evidence, all
clear), one per measure and direction.

Everything kept between evaluations lives in the alerts table: the open (or acknowledged)
monitoring alerts, and per measure and direction the evidence of the last resolved one,
so that the same evidence never raises an alert twice. Each evaluation replays the
lookback window in effective-time order, so a late observation takes its place; readings
older than `CARELOOP_ALERT_LOOKBACK_HOURS` are baseline only, never an alert.

A warning of a reading out of range waits for the patient to re-measure first
(`services.confirmations`): its alert is `confirming` until the next reading, the patient's
answer or the scheduler decides.

Missing data is judged by the scheduler (`check_missing`): the patient is nudged once in
chat (when a chat is linked), and the team alerted if nothing came after `NUDGE_WAIT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from assistant import texts
from assistant.config import get_settings
from assistant.domain import alert_state, detection, findings, trends
from assistant.domain.alert_state import Action, Decision, Key, OpenAlert
from assistant.domain.findings import Direction, Finding, FindingKind, Severity
from assistant.domain.targets import Target
from assistant.services import alerts, confirmations, targets, wording
from assistant.storage.db import utcnow
from assistant.storage.models import (
    PRIORITY,
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ChatLink,
    MessageKind,
    OutboxMessage,
    Patient,
    Reading,
)

# Before the lookback: what persistence and the trends' baseline (7 to 28 days before each
# reading) need of history.
HISTORY = trends.BASELINE_FROM + timedelta(days=1)
# After a missing-data nudge, how long the patient has to send the reading before the team
# is told.
NUDGE_WAIT = timedelta(hours=6)
KINDS = {FindingKind.reading: AlertKind.reading, FindingKind.trend: AlertKind.trend,
         FindingKind.forecast: AlertKind.forecast,
         FindingKind.missing_data: AlertKind.missing_data}
SEVERITIES = {Severity.warning: AlertSeverity.high, Severity.urgent: AlertSeverity.urgent}


def lookback() -> timedelta:
    return timedelta(hours=get_settings().alert_lookback_hours)


def _readings(db: Session, patient: Patient, since: datetime) -> list[findings.Reading]:
    # The four columns, not the rows as objects: a month of hourly readings is thousands,
    # read again after every stored batch.
    found = db.exec(select(Reading.kind, Reading.value, Reading.taken_at, Reading.value2)
                    .where(Reading.patient_id == patient.id, col(Reading.taken_at) >= since)
                    .order_by(col(Reading.taken_at), col(Reading.id))).all()
    return [findings.Reading(kind, value, at, value2) for kind, value, at, value2 in found]


def _live(db: Session, patient: Patient) -> list[Alert]:
    """The patient's open, acknowledged or confirming monitoring alerts."""
    return list(db.exec(select(Alert).where(
        Alert.patient_id == patient.id, col(Alert.measure).is_not(None),
        col(Alert.status).in_((AlertStatus.open, AlertStatus.acknowledged,
                               AlertStatus.confirming)))
        .order_by(col(Alert.id))).all())


def _resolved(db: Session, patient: Patient) -> dict[Key, datetime]:
    """Per measure and direction, the evidence of the latest resolved monitoring alert."""
    rows = db.exec(select(Alert.measure, Alert.direction, func.max(Alert.evidence_at))
                   .where(Alert.patient_id == patient.id, col(Alert.measure).is_not(None),
                          Alert.status == AlertStatus.resolved,
                          col(Alert.evidence_at).is_not(None))
                   .group_by(col(Alert.measure), col(Alert.direction))).all()
    return {(measure or "", Direction(direction) if direction else None): at
            for measure, direction, at in rows if at is not None}


def _key(alert: Alert) -> Key:
    return (alert.measure or "", Direction(alert.direction) if alert.direction else None)


def _finding(alert: Alert) -> Finding:
    kind = next((f for f, a in KINDS.items() if a == alert.kind), FindingKind.reading)
    severity = Severity.urgent if alert.severity == AlertSeverity.urgent else Severity.warning
    measure, direction = _key(alert)
    evidence = alert.evidence_at or alert.created_at
    return Finding(kind, severity, measure, direction, alert.summary, evidence)


def evaluate(db: Session, *, patient: Patient, now: datetime | None = None,
             missing: tuple[str, ...] = ()) -> list[Decision]:
    """Run detection for the patient at `now` and apply it to the alerts; the expected
    readings of the measures in `missing` are judged too (the scheduler's step, once the
    patient was nudged)."""
    now = now or utcnow()
    window = lookback()
    plan = targets.plan(db, patient)
    plan = replace(plan, cadences=tuple(c for c in plan.cadences if c.measure in missing))
    series = _readings(db, patient, now - window - HISTORY)
    found = detection.detect(series, plan=plan, now=now, lookback=window)
    live = {_key(a): a for a in _live(db, patient)}
    resolved = _resolved(db, patient)
    snoozed = {(measure, Direction(direction) if direction else None): until for
               (measure, direction), until in alerts.snoozed(db, patient.id, now=now).items()}
    decisions, state = alert_state.reconcile(
        open_alerts=[OpenAlert(_finding(a), a.last_finding_at or a.created_at)
                     for a in live.values()],
        findings=found, readings=series, targets=plan.targets, resolved=resolved,
        snoozed=snoozed)
    for decision in decisions:
        _apply(db, patient, live, decision, series, plan.targets, now)
    for key, kept in state.items():
        row = live.get(key)
        if row is not None and row.last_finding_at != kept.last_finding_at:
            row.last_finding_at = kept.last_finding_at
            db.add(row)
    for row in live.values():
        if row.status == AlertStatus.confirming:
            _confirming(db, patient, row, series, plan, now)
    return decisions


def _confirming(db: Session, patient: Patient, row: Alert, series: list[findings.Reading],
                plan: detection.Plan, now: datetime) -> None:
    """A warning waiting for the patient: decided by a later reading, or the patient is
    asked (once)."""
    if confirmations.remeasured(db, alert=row, series=series,
                                target=plan.targets.get(row.measure or ""), now=now):
        return
    hf = confirmations.heart_failure(patient, row.measure or "",
                                     preset=plan.weight_gain is not None)
    confirmations.ask(db, alert=row, reading=_at(series, row.measure, row.evidence_at),
                      hf=hf, now=now)


def _at(series: list[findings.Reading], measure: str | None,
        at: datetime | None) -> findings.Reading | None:
    return next((r for r in series if r.measure == measure and r.at == at), None)


def _apply(db: Session, patient: Patient, live: dict[Key, Alert], decision: Decision,
           series: list[findings.Reading], in_force: Mapping[str, Target],
           now: datetime) -> None:
    finding = decision.finding
    if decision.action == Action.clear:
        row = live.pop(decision.key, None)
        second = _at(series, decision.key[0], decision.at)
        if row is not None and row.status == AlertStatus.confirming and second is not None:
            confirmations.measuring_error(db, row, second, now=now)
        elif row is not None:
            alerts.clear_monitoring(db, row, note=texts.t(
                "alert.all_clear", at=decision.at.strftime("%Y-%m-%d %H:%M")))
        return
    if finding is None:  # pragma: no cover - open and update always carry their evidence
        return
    summary = wording.summary(finding, series, in_force)
    if decision.action == Action.open:
        confirm = confirmations.wanted(finding) and confirmations.can_ask(db, patient)
        live[decision.key] = alerts.open_monitoring(
            db, patient=patient, kind=KINDS[finding.kind],
            severity=SEVERITIES[finding.severity], summary=summary,
            measure=finding.measure, direction=finding.direction,
            evidence_at=finding.evidence_at, at=decision.at,
            confirming_since=now if confirm else None)
        return
    row = live[decision.key]
    before = row.summary
    alerts.update_monitoring(db, row, severity=SEVERITIES[finding.severity],
                             summary=summary, evidence_at=finding.evidence_at, at=decision.at,
                             news=decision.notify)
    if row.status == AlertStatus.confirming:   # the next reading is out of range too
        second = _at(series, finding.measure, finding.evidence_at) \
            if confirmations.wanted(finding) else None
        confirmations.confirmed(db, row, summary=before if second else summary,
                                second=second, now=now)


def check_missing(db: Session, *, patient: Patient, now: datetime | None = None) -> int:
    """The scheduler's missing-data step for one patient: a nudge per measure and gap first
    (once), the team's alert once the nudge had `NUDGE_WAIT` (at once without a chat).
    Returns how many nudges were queued."""
    now = now or utcnow()
    plan = targets.plan(db, patient)
    if not plan.cadences:
        return 0
    series = _readings(db, patient, now - lookback() - HISTORY)
    gaps = [f for f in detection.detect(series, plan=replace(plan, targets={},
                                                             trend_measures=(),
                                                             weight_gain=None,
                                                             forecast_glucose=False),
                                        now=now, lookback=lookback())
            if f.kind == FindingKind.missing_data]
    chat = db.exec(select(ChatLink.id).where(ChatLink.patient_id == patient.id,
                                             col(ChatLink.unlinked_at).is_(None))).first()
    queued, due = 0, []
    for gap in gaps:
        dedupe = f"missing:{patient.id}:{gap.measure}:{gap.evidence_at:%Y%m%d%H%M}"
        nudge = db.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == dedupe)).first()
        if chat is None or (nudge is not None and now - nudge.not_before >= NUDGE_WAIT):
            due.append(gap.measure)
        elif nudge is None:
            hours = (now - gap.evidence_at).total_seconds() / 3600
            since = wording.span(hours, patient.language)
            db.add(OutboxMessage(
                patient_id=patient.id, kind=MessageKind.nudge,
                priority=PRIORITY[MessageKind.nudge], dedupe_key=dedupe, not_before=now,
                text=texts.t("monitoring.missing_nudge", patient.language, since=since,
                             measure=wording.measure(gap.measure, patient.language))))
            queued += 1
    if due:
        evaluate(db, patient=patient, now=now, missing=tuple(due))
    return queued
