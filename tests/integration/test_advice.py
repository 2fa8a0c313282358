"""Scheduled lifestyle advice: fitting items, no repeats, limits and quiet hours."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from assistant.scheduling.advice_planner import plan_advice
from assistant.services import advice, patients, teams
from assistant.storage.db import session
from assistant.storage.models import PRIORITY, AdviceItem, MessageKind, OutboxMessage, Patient

TEN_AM_BERLIN = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)


def _patient(db: Session, **fields: object) -> Patient:
    team = teams.add_team(db, name="Ward 7", actor="test")
    patient = patients.add_patient(db, team=team, name="Ada", timezone="Europe/Berlin",
                                   actor="test", conditions=["Diabetes"], goals=["sleep"])
    for name, value in fields.items():
        setattr(patient, name, value)
    db.commit()
    return patient


def _texts(db: Session) -> list[str]:
    return list(db.exec(select(OutboxMessage.text).order_by(col(OutboxMessage.id))).all())


def test_generic_safe_advice_is_used_when_the_team_wrote_none(any_db: Session) -> None:
    patient = _patient(any_db)
    item = advice.choose(any_db, patient)
    assert item is not None and item.team_id is None


def test_advice_fitting_the_patient_is_chosen_and_never_twice_in_a_row(db: Session) -> None:
    patient = _patient(db, advice_per_day=1)
    for title, tags in [("Carbs", ["diabetes"]), ("Bedtime", ["Sleep"]), ("Knees", ["arthritis"])]:
        db.add(AdviceItem(team_id=patient.team_id, title=title, body="...", tags=tags))
    db.commit()
    for day in range(4):
        plan_advice(db, now=TEN_AM_BERLIN + timedelta(days=day))
        db.commit()
    titles = [text.splitlines()[0] for text in _texts(db)]
    assert titles == ["💡 Carbs", "💡 Bedtime", "💡 Carbs", "💡 Bedtime"]


def test_advice_waits_for_its_time_and_its_daily_limit(db: Session) -> None:
    _patient(db, advice_per_day=2)
    assert plan_advice(db, now=TEN_AM_BERLIN - timedelta(minutes=1)) == 0
    assert plan_advice(db, now=TEN_AM_BERLIN) == 1
    assert plan_advice(db, now=TEN_AM_BERLIN + timedelta(hours=1)) == 0
    assert plan_advice(db, now=TEN_AM_BERLIN + timedelta(hours=4)) == 1
    assert plan_advice(db, now=TEN_AM_BERLIN + timedelta(hours=9)) == 0
    [first, _] = db.exec(select(OutboxMessage)).all()
    assert first.kind == MessageKind.advice
    assert first.priority > PRIORITY[MessageKind.reminder]


def test_quiet_hours_hold_advice_until_they_end(db: Session) -> None:
    _patient(db, advice_time="07:00", quiet_start="22:00", quiet_end="09:30")
    assert plan_advice(db, now=TEN_AM_BERLIN - timedelta(hours=2)) == 0  # 08:00 local
    assert plan_advice(db, now=TEN_AM_BERLIN - timedelta(minutes=20)) == 1  # 09:40 local


def test_a_tick_reads_only_the_patients_whose_advice_is_due(db: Session) -> None:
    team = teams.add_team(db, name="Big ward", actor="test")
    for n in range(200):
        patients.add_patient(db, team=team, name=f"P{n}", timezone="Europe/Berlin",
                             actor="test")
    db.commit()
    assert plan_advice(db, now=TEN_AM_BERLIN) == 200
    db.commit()
    statements: list[str] = []
    engine = db.get_bind()
    listen = ("before_cursor_execute", lambda *args: statements.append(args[2]))
    event.listen(engine, *listen)
    try:
        assert plan_advice(db, now=TEN_AM_BERLIN + timedelta(minutes=1)) == 0
    finally:
        event.remove(engine, *listen)
    assert len(statements) == 1   # the due ones: none until tomorrow's 10:00
    assert plan_advice(db, now=TEN_AM_BERLIN + timedelta(days=1)) == 200


def test_a_second_advice_a_day_counts_from_the_change(db: Session) -> None:
    patient = _patient(db, advice_per_day=1)
    assert plan_advice(db, now=TEN_AM_BERLIN) == 1
    db.commit()
    patients.update_profile(db, patient, {"advice_per_day": 2}, actor="test")
    db.commit()
    assert plan_advice(db, now=TEN_AM_BERLIN + timedelta(hours=4)) == 1


@pytest.mark.postgres
def test_two_workers_share_the_due_advice_without_doubles(pg_db_url: str) -> None:
    """Two scheduler workers tick at the same moment on PostgreSQL: each patient's advice
    is queued once, and neither tick fails on the other's."""
    with session() as db:
        team = teams.add_team(db, name="Shared ward", actor="test")
        for n in range(60):
            patients.add_patient(db, team=team, name=f"P{n}", timezone="Europe/Berlin",
                                 actor="test")
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        with session() as db:
            barrier.wait()
            counts.append(plan_advice(db, now=TEN_AM_BERLIN))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == 60 and len(counts) == 2
    with session() as db:
        assert len(db.exec(select(OutboxMessage.id)).all()) == 60
