"""The console's monitoring reads on SQLite and PostgreSQL: a patient's charts (readings
of the window, alert markers, the baseline), the patients sorted by monitoring risk, and
the adherence chart's days and missed doses in the patient's zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import charts, medications, patients, views
from assistant.services.teams import add_team
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Reading,
)


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


def test_adherence_days_and_missed_doses_on_each_database(any_db_url: str) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2027, 3, 31, 3, tzinfo=tokyo)             # 18:00 UTC on 30 March
    with session() as db:
        team = add_team(db, name="Ward 4", actor="test")
        patient = patients.add_patient(db, team=team, name="Kenji", timezone="Asia/Tokyo",
                                       actor="test")
        med = medications.add_medication(db, patient=patient, name="Metformin",
                                         strength="500 mg",
                                         schedule=ScheduleSpec(times=("00:30", "20:00")),
                                         actor="test")
        schedule = db.exec(select(DoseSchedule).where(
            DoseSchedule.medication_id == med.id)).one()
        # 30 March 20:00 missed, 31 March 00:30 (15:30 UTC on the 30th) missed, 29 March
        # 20:00 taken; the first local day starts at its midnight, not 30 days of hours ago.
        for at, status in ((datetime(2027, 3, 30, 20, tzinfo=tokyo), DoseStatus.missed),
                           (datetime(2027, 3, 31, 0, 30, tzinfo=tokyo), DoseStatus.missed),
                           (datetime(2027, 3, 29, 20, tzinfo=tokyo), DoseStatus.taken),
                           (datetime(2027, 3, 2, 0, 30, tzinfo=tokyo), DoseStatus.skipped)):
            db.add(DoseOccurrence(schedule_id=schedule.id, medication_id=med.id,
                                  patient_id=patient.id, status=status, due_at=at))
        patient_id = patient.id
    with session() as db:
        found = charts.adherence(db, patients.get_patient(db, patient_id), now=now)
    days = {d.day.isoformat(): (d.taken, d.skipped, d.missed) for d in found.chart.days}
    assert len(days) == 30 and found.chart.days[-1].day.isoformat() == "2027-03-31"
    assert days["2027-03-31"] == (0, 0, 1) and days["2027-03-30"] == (0, 0, 1)
    assert days["2027-03-29"] == (1, 0, 0) and days["2027-03-02"] == (0, 1, 0)
    assert [(day.isoformat(), [name for _, name in doses]) for day, doses in found.missed] == [
        ("2027-03-31", ["Metformin 500 mg"]), ("2027-03-30", ["Metformin 500 mg"])]
    assert found.missed_count == 2
    assert [b.kind for b in found.chart.bars[-3:]] == ["all", "zero", "zero"]
