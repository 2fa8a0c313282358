"""Monitoring end to end on SQLite and PostgreSQL: FHIR observations in, alerts out —
urgent at once, persistence, new evidence updating the one open alert, all clear, history
never alerting, the same bundle twice giving one alert, the team default and the patient's
own targets, the heart-failure weight rule, and missing data nudging then alerting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from assistant.config import get_settings
from assistant.domain.alert_state import Action, Decision
from assistant.domain.targets import Levels
from assistant.scheduling import missing_data
from assistant.services import alerts, monitoring, observations, targets
from assistant.services.teams import add_team
from assistant.storage.db import utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ChatLink,
    MeasureTarget,
    MessageKind,
    OutboxMessage,
    Patient,
    PatientStatus,
    Reading,
)
from tests.observation_docs import ago, blood_pressure, bundle, observation, send


@pytest.fixture
def patient(any_db: Session) -> Patient:
    team = add_team(any_db, name="North", actor="test")
    found = Patient(team_id=team.id, display_name="Ada")
    any_db.add(found)
    any_db.commit()
    return found


def _bp(systolic: float, diastolic: float, at: datetime, **kwargs: Any) -> Any:
    return blood_pressure(systolic, diastolic, at.isoformat(), device="cuff", **kwargs)


def _alerts(db: Session) -> list[Alert]:
    db.expire_all()
    return list(db.exec(select(Alert).order_by(col(Alert.id))).all())


def test_an_urgent_value_alerts_at_once_with_its_evidence(any_db: Session,
                                                          patient: Patient) -> None:
    taken = ago(hours=2)
    send(any_db, patient, _bp(192, 96, taken))
    [alert] = _alerts(any_db)
    assert (alert.kind, alert.severity, alert.status) == (
        AlertKind.reading, AlertSeverity.urgent, AlertStatus.open)
    assert (alert.measure, alert.direction, alert.evidence_at) == (
        "blood_pressure", "high", taken)
    assert alert.summary == "Reading out of range: systolic 192 above 180 mmHg"


def test_a_warning_needs_persistence_then_new_evidence_updates_it_then_all_clear(
        any_db: Session, patient: Patient) -> None:
    send(any_db, patient, _bp(165, 95, ago(hours=6)))
    assert _alerts(any_db) == []                       # one reading is not a warning
    second = ago(hours=5)
    send(any_db, patient, _bp(168, 95, second))
    [alert] = _alerts(any_db)
    assert (alert.severity, alert.evidence_at) == (AlertSeverity.high, second)
    third = ago(hours=4)
    send(any_db, patient, _bp(171, 97, third))
    [alert] = _alerts(any_db)                          # updated, not a second alert
    assert alert.evidence_at == third and "systolic 171 above 160" in alert.summary
    send(any_db, patient, _bp(184, 99, ago(hours=3)))
    [alert] = _alerts(any_db)
    assert alert.severity == AlertSeverity.urgent      # escalated in place
    send(any_db, patient, _bp(128, 82, ago(hours=1)))
    [alert] = _alerts(any_db)
    assert alert.status == AlertStatus.resolved
    assert alert.resolution_note is not None and alert.resolution_note.startswith("All clear")
    send(any_db, patient, _bp(126, 80, ago(minutes=30)))
    assert len(_alerts(any_db)) == 1                   # the old evidence is not news again


def test_history_is_stored_but_never_alerts(any_db: Session, patient: Patient) -> None:
    send(any_db, patient, _bp(200, 125, ago(hours=170)), _bp(199, 124, ago(hours=169)))
    assert len(any_db.exec(select(Reading)).all()) == 2
    assert _alerts(any_db) == []


def test_the_same_bundle_twice_gives_one_reading_and_one_alert(any_db: Session,
                                                               patient: Patient) -> None:
    document = bundle("batch", observation("59408-5", 82, "%", ago(hours=1).isoformat(),
                                           identifier="ox-1"))
    for _ in range(2):
        observations.receive(any_db, patient=patient, document=document, actor="device")
        any_db.commit()
    assert len(any_db.exec(select(Reading)).all()) == 1
    [alert] = _alerts(any_db)
    assert (alert.measure, alert.direction, alert.severity) == (
        "spo2", "low", AlertSeverity.urgent)


def test_late_observations_are_evaluated_in_effective_time_order(
        any_db: Session, patient: Patient) -> None:
    # The newest (back in range) arrives first; two older high readings arrive late.
    send(any_db, patient, _bp(125, 80, ago(hours=1)))
    send(any_db, patient, _bp(170, 95, ago(hours=4)), _bp(172, 96, ago(hours=3)))
    [alert] = _alerts(any_db)
    assert alert.status == AlertStatus.resolved        # opened at 3 h ago, clear at 1 h ago


def test_team_default_applies_where_the_patient_has_none(any_db: Session,
                                                         patient: Patient) -> None:
    any_db.add(MeasureTarget(team_id=patient.team_id, measure="spo2",
                             warning_low=95, urgent_low=85, persist_count=1))
    any_db.commit()
    send(any_db, patient, observation("59408-5", 93, "%", ago(hours=2).isoformat()))
    [alert] = _alerts(any_db)
    assert (alert.severity, alert.summary) == (
        AlertSeverity.high, "Reading out of range: spo2 93 below 95 %")
    targets.set_targets(any_db, patient=patient, actor="test", member_id=None, items=[
        targets.TargetIn("spo2", Levels(warning_low=90, urgent_low=85), persist_count=1)])
    any_db.commit()
    assert [(m, source) for m, _, source in targets.in_force(any_db, patient)
            if m == "spo2"] == [("spo2", "patient")]
    send(any_db, patient, observation("59408-5", 92, "%", ago(hours=1).isoformat()))
    assert len(_alerts(any_db)) == 1                   # 92 is within the patient's own


def test_heart_failure_weight_gain_is_a_trend_alert(any_db: Session,
                                                    patient: Patient) -> None:
    targets.set_targets(any_db, patient=patient, actor="test", member_id=None, items=[],
                        preset="heart_failure")
    any_db.commit()
    days = [(ago(days=d, hours=1), 81.0 + (0.1 if d % 2 else 0)) for d in range(20, 2, -1)]
    days += [(ago(days=2, hours=1), 82.0), (ago(days=1, hours=1), 82.8),
             (ago(hours=1), 83.6)]
    send(any_db, patient, *[observation("29463-7", kg, "kg", at.isoformat(), device="scale")
                             for at, kg in days])
    found = [a for a in _alerts(any_db) if a.measure == "weight"]
    assert [(a.kind, a.direction, a.status) for a in found] == [
        (AlertKind.trend, "high", AlertStatus.open)]
    assert found[0].summary.startswith("Trend: weight")


def test_missing_data_nudges_the_patient_once_then_alerts_the_team(
        any_db: Session, patient: Patient) -> None:
    any_db.add(MeasureTarget(team_id=patient.team_id, patient_id=patient.id, measure="weight",
                             expect_every_hours=24, confirmed_at=ago(days=10)))
    any_db.add(ChatLink(patient_id=patient.id, chat_id="5001"))
    send(any_db, patient, observation("29463-7", 80, "kg", ago(days=4).isoformat()))
    now = utcnow()
    assert monitoring.check_missing(any_db, patient=patient, now=now) == 1
    assert monitoring.check_missing(any_db, patient=patient, now=now) == 0  # once
    any_db.commit()
    [nudge] = any_db.exec(select(OutboxMessage)).all()
    assert nudge.kind == MessageKind.nudge and "weight" in nudge.text
    assert _alerts(any_db) == []
    later = now + monitoring.NUDGE_WAIT
    monitoring.check_missing(any_db, patient=patient, now=later)
    any_db.commit()
    [alert] = _alerts(any_db)
    assert (alert.kind, alert.measure, alert.direction) == (
        AlertKind.missing_data, "weight", None)
    assert alert.summary.startswith("Missing readings: no weight for 4 days")


def test_missing_data_without_a_chat_alerts_the_team_at_once(any_db: Session,
                                                             patient: Patient) -> None:
    any_db.add(MeasureTarget(team_id=patient.team_id, patient_id=patient.id,
                             measure="blood_pressure", expect_every_hours=12,
                             confirmed_at=ago(days=5)))
    any_db.commit()
    assert monitoring.check_missing(any_db, patient=patient) == 0
    any_db.commit()
    [alert] = _alerts(any_db)
    assert alert.kind == AlertKind.missing_data
    assert any_db.exec(select(OutboxMessage)).all() == []


def test_the_scheduler_step_nudges_patients_whose_team_plan_expects_readings(
        any_db: Session, patient: Patient) -> None:
    paused = Patient(team_id=patient.team_id, display_name="Bo", status=PatientStatus.paused)
    any_db.add(paused)
    any_db.add(MeasureTarget(team_id=patient.team_id, measure="weight", expect_every_hours=24,
                             confirmed_at=ago(days=5)))
    any_db.add(ChatLink(patient_id=patient.id, chat_id="5002"))
    any_db.commit()
    now = utcnow()
    assert missing_data.check_missing_data(any_db, now=now) == 1   # not the paused patient
    assert missing_data.check_missing_data(any_db, now=now) == 0
    any_db.commit()
    [nudge] = any_db.exec(select(OutboxMessage)).all()
    assert nudge.patient_id == patient.id
    send(any_db, patient, observation("29463-7", 80, "kg", ago(minutes=5).isoformat()))
    missing_data.check_missing_data(any_db, now=now + monitoring.NUDGE_WAIT)
    any_db.commit()
    assert _alerts(any_db) == []                       # the reading came: no alert


def test_a_missing_data_alert_clears_when_the_reading_arrives(any_db: Session,
                                                              patient: Patient) -> None:
    any_db.add(MeasureTarget(team_id=patient.team_id, patient_id=patient.id, measure="weight",
                             expect_every_hours=24, confirmed_at=ago(days=10)))
    send(any_db, patient, observation("29463-7", 80, "kg", ago(days=4).isoformat()))
    monitoring.check_missing(any_db, patient=patient, now=ago(minutes=10))
    any_db.commit()
    [alert] = _alerts(any_db)
    assert (alert.kind, alert.status) == (AlertKind.missing_data, AlertStatus.open)
    # the weight is taken five minutes after the team was alerted: the next evaluation
    # (the readings were stored) clears it, not one 30 minutes later
    send(any_db, patient, observation("29463-7", 80.6, "kg", ago(minutes=5).isoformat()))
    [alert] = _alerts(any_db)
    assert alert.status == AlertStatus.resolved
    assert alert.resolution_note is not None and alert.resolution_note.startswith("All clear")


def _snooze(db: Session, minutes: int, now: datetime | None = None) -> None:
    [alert] = [a for a in _alerts(db) if a.status == AlertStatus.open]
    alerts.snooze(db, alert, minutes=minutes, actor="nurse", now=now)
    db.commit()


def test_a_snoozed_high_does_not_re_alert_a_low_does_and_an_urgent_comes_through(
        any_db: Session, patient: Patient) -> None:
    send(any_db, patient, _bp(165, 95, ago(hours=7)), _bp(168, 95, ago(hours=6)))
    _snooze(any_db, 240)
    send(any_db, patient, _bp(125, 80, ago(hours=5)))           # all clear
    send(any_db, patient, _bp(166, 95, ago(hours=4)), _bp(167, 96, ago(hours=3)))
    assert [(a.direction, a.status) for a in _alerts(any_db)] == [
        ("high", AlertStatus.resolved)]                           # high again: held back
    send(any_db, patient, _bp(85, 55, ago(hours=2)), _bp(84, 54, ago(minutes=100)))
    assert [(a.direction, a.status) for a in _alerts(any_db)] == [
        ("high", AlertStatus.resolved), ("low", AlertStatus.open)]  # a low is not silenced
    send(any_db, patient, _bp(192, 104, ago(minutes=30)))
    assert [(a.direction, a.severity, a.status) for a in _alerts(any_db)][-1] == (
        "high", AlertSeverity.urgent, AlertStatus.open)           # urgent comes through


def test_a_snoozed_warning_escalating_to_urgent_is_news_and_a_snooze_ends(
        any_db: Session, patient: Patient) -> None:
    send(any_db, patient, _bp(165, 95, ago(hours=7)), _bp(168, 95, ago(hours=6)))
    _snooze(any_db, 60, now=ago(hours=3))                      # ended two hours ago
    send(any_db, patient, _bp(125, 80, ago(hours=5)))
    send(any_db, patient, _bp(166, 95, ago(hours=4)), _bp(167, 96, ago(hours=3)))
    assert [a.status for a in _alerts(any_db)] == [AlertStatus.resolved, AlertStatus.open]
    _snooze(any_db, 240)

    def stored(systolic: float, diastolic: float, at: datetime) -> list[Decision]:
        any_db.add(Reading(patient_id=patient.id, kind="blood_pressure", code="85354-9",
                           value=systolic, value2=diastolic, unit="mmHg", taken_at=at))
        any_db.flush()
        return monitoring.evaluate(any_db, patient=patient)

    got = stored(170, 97, ago(hours=2))
    assert [(d.action, d.notify) for d in got] == [
        (Action.update, False)]                                  # snoozed: no news
    assert [(d.action, d.notify) for d in stored(186, 99, ago(hours=1))] == [
        (Action.update, True)]                                   # urgent: news
    any_db.commit()
    opened = _alerts(any_db)[-1]
    assert (opened.severity, opened.status) == (AlertSeverity.urgent, AlertStatus.open)


def test_the_lookback_setting_decides_what_is_history(any_db: Session, patient: Patient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_ALERT_LOOKBACK_HOURS", "24")
    get_settings.cache_clear()
    send(any_db, patient, _bp(195, 125, ago(hours=26)))        # urgent, but history
    assert _alerts(any_db) == []
    taken = ago(hours=20)
    send(any_db, patient, _bp(194, 118, taken))
    [alert] = _alerts(any_db)
    assert (alert.severity, alert.evidence_at) == (AlertSeverity.urgent, taken)


def test_a_late_older_reading_does_not_undo_a_newer_alert(any_db: Session,
                                                          patient: Patient) -> None:
    newest = ago(hours=1)
    send(any_db, patient, _bp(190, 100, newest))
    send(any_db, patient, _bp(124, 80, ago(hours=3)), _bp(126, 78, ago(hours=2)))
    [alert] = _alerts(any_db)                # in range before it, in effective-time order
    assert (alert.status, alert.evidence_at) == (AlertStatus.open, newest)


def test_an_acknowledged_warning_that_turns_urgent_comes_back_to_the_team(
        any_db: Session, patient: Patient) -> None:
    send(any_db, patient, _bp(165, 95, ago(hours=6)), _bp(166, 96, ago(hours=5)))
    [alert] = _alerts(any_db)
    alerts.update_alert(any_db, alert, actor="member:1", status=AlertStatus.acknowledged)
    any_db.commit()
    send(any_db, patient, _bp(167, 94, ago(hours=4)))   # more of the same: no news
    [alert] = _alerts(any_db)
    assert alert.status == AlertStatus.acknowledged
    send(any_db, patient, _bp(191, 99, ago(hours=3)))   # now urgent: the team must look again
    [alert] = _alerts(any_db)
    assert (alert.status, alert.severity, alert.acknowledged_at) == (
        AlertStatus.open, AlertSeverity.urgent, None)
