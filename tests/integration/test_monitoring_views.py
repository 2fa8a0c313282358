"""The console's monitoring reads on SQLite and PostgreSQL: a patient's charts (readings
of the window, alert markers, the baseline) and the patients sorted by monitoring risk."""

from __future__ import annotations

from datetime import timedelta

from assistant.services import charts, patients, views
from assistant.services.teams import add_team
from assistant.storage.db import session, utcnow
from assistant.storage.models import Alert, AlertKind, AlertSeverity, Reading


def test_charts_and_monitoring_risk_on_each_database(any_db_url: str) -> None:
    now = utcnow()
    with session() as db:
        team = add_team(db, name="Ward 3", actor="test")
        calm = patients.add_patient(db, team=team, name="Calm", timezone="UTC", actor="test")
        ill = patients.add_patient(db, team=team, name="Ill", timezone="Asia/Tokyo",
                                   actor="test")
        for day in range(40):
            db.add(Reading(patient_id=ill.id, kind="weight", code="29463-7", value=80 + day % 2,
                           unit="kg", taken_at=now - timedelta(days=day, hours=1),
                           source="api"))
        db.add(Alert(patient_id=ill.id, team_id=team.id, kind=AlertKind.trend,
                     severity=AlertSeverity.high, summary="weight rising", measure="weight",
                     direction="high", evidence_at=now - timedelta(days=2)))
        team_id, ill_id, calm_id = team.id, ill.id, calm.id
    with session() as db:
        ill = patients.get_patient(db, ill_id)
        month = charts.patient_charts(db, ill, days=30, now=now)
        week = charts.patient_charts(db, ill, days=7, now=now)
        assert [c.measure for c in month] == ["weight"]
        assert month[0].summary.startswith("weight, last 30 days: 30 readings")
        assert month[0].baseline is not None and len(month[0].markers) == 1
        assert week[0].summary.startswith("weight, last 7 days: 7 readings")
        assert charts.patient_charts(db, patients.get_patient(db, calm_id), now=now) == []
        rows = views.summaries(db, team_id, sort="monitoring", now=now)
        assert [(r.patient.display_name, r.monitoring.reason if r.monitoring else None)
                for r in rows] == [("Ill", "trend: weight"), ("Calm", "no monitoring concern")]
