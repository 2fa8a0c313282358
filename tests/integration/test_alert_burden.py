"""Alert burden on real SQL (SQLite and PostgreSQL): alerts per patient-week over the last
four weeks, of all kinds and of the monitoring kinds, and the share marked useful."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from assistant.services import alerts, burden, patients, teams
from assistant.storage.models import AlertKind, AlertStatus, CareTeam, Patient

NOW = datetime(2027, 3, 29, 12, 0, tzinfo=UTC)


def _patient(db: Session, team: CareTeam, name: str, added_days_ago: int) -> Patient:
    patient = patients.add_patient(db, team=team, name=name, timezone="UTC", actor="test")
    patient.created_at = NOW - timedelta(days=added_days_ago)
    return patient


def _alerts(db: Session, patient: Patient, *kinds: AlertKind, days_ago: float = 2,
            resolved: int = 0, useful: tuple[bool, ...] = ()) -> None:
    for n, kind in enumerate(kinds):
        alert = alerts.raise_alert(db, patient=patient, kind=kind, summary="x")
        assert alert is not None
        alert.created_at = NOW - timedelta(days=days_ago, minutes=n)
        if n < resolved:
            alert.status = AlertStatus.resolved
        if n < len(useful):
            alert.useful = useful[n]
    db.commit()


def test_alerts_per_patient_week_and_the_useful_share(any_db: Session) -> None:
    team = teams.add_team(any_db, name="Ward 3", actor="test")
    ada = _patient(any_db, team, "Ada", added_days_ago=90)
    bob = _patient(any_db, team, "Bob", added_days_ago=60)
    cy = _patient(any_db, team, "Cy", added_days_ago=7)       # one week in the window
    _patient(any_db, team, "Quiet", added_days_ago=28)        # no alerts: weeks count
    reading, question = AlertKind.reading, AlertKind.question
    _alerts(any_db, ada, reading, reading, AlertKind.trend, question, resolved=2,
            useful=(True, False))
    _alerts(any_db, ada, reading, days_ago=29)                # before the window
    _alerts(any_db, bob, AlertKind.forecast, resolved=1, useful=(True,))
    _alerts(any_db, cy, AlertKind.missing_data, AlertKind.missing_data)
    other = teams.add_team(any_db, name="Elsewhere", actor="test")
    _alerts(any_db, _patient(any_db, other, "Else", added_days_ago=90), reading)

    found = burden.alert_burden(any_db, team.id, now=NOW)

    assert found.since == NOW - timedelta(weeks=4)
    t = found.team
    assert (t.patient_weeks, t.alerts, t.monitoring_alerts, t.resolved) == (13, 7, 6, 3)
    assert (t.per_patient_week, t.monitoring_per_patient_week) == (0.54, 0.46)
    assert (t.marked, t.useful, t.useful_share) == (3, 2, 0.67)
    assert [(p.name, p.alerts, p.patient_weeks, p.per_patient_week, p.useful_share)
            for p in found.patients] == [("Ada", 4, 4, 1.0, 0.5), ("Cy", 2, 1, 2.0, None),
                                         ("Bob", 1, 4, 0.25, 1.0)]
