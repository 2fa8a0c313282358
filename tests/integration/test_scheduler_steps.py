"""The scheduler's steps on real SQL (SQLite and PostgreSQL): plan, remind, nudge, miss.

Every step takes its time from the test, never from the wall clock: the tests run with
the application's clock set to hours where they used to fail when a schedule was
written "now" (the dose's own day after the dose, and after midnight in Berlin)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from sqlmodel import Session, col, select

from assistant.domain.doses import Action
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.scheduling.planner import Policy, advance, plan, run_once
from assistant.services import doses, medications, occurrences, patients, teams
from assistant.services.doses import apply_dose_button
from assistant.services.occurrences import replan_patient
from assistant.storage import db as dbmod
from assistant.storage.models import (
    Alert,
    AlertKind,
    CareTeam,
    DoseOccurrence,
    DoseStatus,
    MessageKind,
    OutboxMessage,
    Patient,
    PatientStatus,
)

POLICY = Policy(horizon=timedelta(hours=48), grace=timedelta(minutes=60),
                followup=timedelta(minutes=30), snooze_minutes=15)
# 08:00 in Berlin on a winter Monday is 07:00 UTC.
MORNING = datetime(2027, 1, 11, 7, 0, tzinfo=UTC)
WRITTEN = MORNING - timedelta(days=1)  # when the care team wrote the plan


@pytest.fixture(autouse=True, params=["2027-01-11T07:30", "2027-01-11T23:30"])
def wall_clock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The application's clock (`utcnow`) at an hour where reading it broke these steps."""
    shift = datetime.fromisoformat(request.param).replace(tzinfo=UTC) - datetime.now(UTC)

    class Shifted(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + shift

    monkeypatch.setattr(dbmod, "datetime", Shifted)


def _patient(db: Session, times: tuple[str, ...] = ("08:00",)) -> Patient:
    team = teams.add_team(db, name="Ward 7", actor="test")
    patient = patients.add_patient(db, team=team, name="Ada", timezone="Europe/Berlin",
                                   actor="test")
    medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                            instructions="with food", actor="test",
                            schedule=ScheduleSpec(times=times), now=WRITTEN)
    db.commit()
    return patient


def _run(at: datetime) -> None:
    run_once(dbmod.get_engine(), POLICY, now=at)


def _occurrences(db: Session) -> list[DoseOccurrence]:
    db.expire_all()
    return list(db.exec(select(DoseOccurrence).order_by(col(DoseOccurrence.due_at))).all())


def _outbox(db: Session) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def test_planning_twice_creates_each_occurrence_once(any_db: Session) -> None:
    _patient(any_db, ("08:00", "20:00"))
    _run(MORNING - timedelta(hours=2))
    first = [o.due_at for o in _occurrences(any_db)]
    with dbmod.session() as db:  # force a full re-plan of the same window
        replan_patient(db, 1, now=MORNING - timedelta(days=3))
    _run(MORNING - timedelta(hours=2))
    assert [o.due_at for o in _occurrences(any_db)] == first
    assert first[0] == MORNING and len(first) == 4  # 48 h of twice a day


def test_a_due_dose_is_reminded_once_with_its_full_label(any_db: Session) -> None:
    _patient(any_db)
    _run(MORNING - timedelta(hours=1))
    _run(MORNING + timedelta(seconds=5))
    _run(MORNING + timedelta(seconds=10))
    [message] = _outbox(any_db)
    assert message.kind == MessageKind.reminder
    assert "Metformin 500 mg, 1 tablet, with food (08:00)" in message.text
    assert [b["text"] for b in message.buttons[0]] == ["✅ Taken", "⏰ Snooze 15 min", "Skip"]
    assert _occurrences(any_db)[0].status == DoseStatus.sent


def test_after_downtime_a_recent_dose_is_sent_late_and_an_old_one_is_missed(
        any_db: Session) -> None:
    _patient(any_db, ("08:00", "10:00"))
    _run(MORNING - timedelta(hours=1))
    _run(MORNING + timedelta(hours=2, minutes=30))  # back after 3 h 30 of downtime
    occ = _occurrences(any_db)
    assert [o.status for o in occ[:2]] == [DoseStatus.missed, DoseStatus.sent]
    [message] = _outbox(any_db)
    assert "was due at 10:00" in message.text and "late" in message.text


def test_no_answer_brings_one_nudge_then_missed(any_db: Session) -> None:
    _patient(any_db)
    _run(MORNING - timedelta(hours=1))
    _run(MORNING)
    _run(MORNING + timedelta(minutes=31))
    _run(MORNING + timedelta(minutes=62))
    _run(MORNING + timedelta(minutes=100))
    kinds = [m.kind for m in _outbox(any_db)]
    assert kinds == [MessageKind.reminder, MessageKind.nudge]
    assert _occurrences(any_db)[0].status == DoseStatus.missed


def test_a_teams_own_grace_and_follow_up_apply_to_its_patients(any_db: Session) -> None:
    patient = _patient(any_db, ("08:00", "10:00"))
    team = any_db.get(CareTeam, patient.team_id)
    assert team is not None
    team.grace_minutes, team.followup_minutes = 180, 10
    any_db.add(team)
    any_db.commit()
    _run(MORNING - timedelta(hours=1))
    _run(MORNING + timedelta(hours=2, minutes=30))  # within the team's 3 h: both sent late
    assert [o.status for o in _occurrences(any_db)[:2]] == [DoseStatus.sent] * 2
    _run(MORNING + timedelta(hours=2, minutes=41))  # the team's 10 min follow-up: nudges
    assert [m.kind for m in _outbox(any_db)].count(MessageKind.nudge) == 2


def test_taken_cancels_the_pending_nudge(any_db: Session) -> None:
    patient = _patient(any_db)
    _run(MORNING - timedelta(hours=1))
    _run(MORNING)
    occ = _occurrences(any_db)[0]
    with dbmod.session() as db:
        text = apply_dose_button(db, patient_id=patient.id, data=f"dose:{occ.id}:taken",
                                 snooze_minutes=15)
    assert text is not None and "taken" in text
    _run(MORNING + timedelta(minutes=40))
    assert [m.kind for m in _outbox(any_db)] == [MessageKind.reminder]
    assert _occurrences(any_db)[0].status == DoseStatus.taken


def test_snooze_sends_again_after_the_delay(any_db: Session) -> None:
    patient = _patient(any_db)
    _run(MORNING - timedelta(hours=1))
    _run(MORNING)
    occ = _occurrences(any_db)[0]
    with dbmod.session() as db:
        dose = doses.find(db, patient_id=patient.id, occurrence_id=occ.id)
        assert dose is not None
        doses.record(db, dose, Action.snooze, source="chat", snooze_minutes=15,
                     now=MORNING + timedelta(minutes=1))
    _run(MORNING + timedelta(minutes=10))
    assert len(_outbox(any_db)) == 1
    _run(MORNING + timedelta(minutes=17))
    assert [m.kind for m in _outbox(any_db)] == [MessageKind.reminder, MessageKind.reminder]


def test_two_missed_doses_in_a_row_alert_the_care_team_once(any_db: Session) -> None:
    _patient(any_db, ("08:00", "09:00", "10:00"))
    _run(MORNING - timedelta(hours=1))
    _run(MORNING + timedelta(hours=6))  # all three too late: missed
    alerts = any_db.exec(select(Alert)).all()
    assert [a.kind for a in alerts] == [AlertKind.missed_doses]


def test_a_paused_patient_gets_nothing(any_db: Session) -> None:
    patient = _patient(any_db)
    _run(MORNING - timedelta(hours=1))
    with dbmod.session() as db:
        row = db.get(Patient, patient.id)
        assert row is not None
        row.status = PatientStatus.paused
    _run(MORNING + timedelta(minutes=1))
    assert _outbox(any_db) == []
    assert _occurrences(any_db)[0].status == DoseStatus.cancelled


def test_a_new_time_zone_moves_future_reminders_only(any_db: Session) -> None:
    patient = _patient(any_db)
    _run(MORNING - timedelta(hours=1))
    _run(MORNING)  # today's 08:00 Berlin reminder is sent
    with dbmod.session() as db:
        row = db.get(Patient, patient.id)
        assert row is not None
        row.timezone = "America/New_York"
        replan_patient(db, patient.id, now=MORNING + timedelta(minutes=5))
    _run(MORNING + timedelta(minutes=6))
    occ = _occurrences(any_db)
    assert occ[0].due_at == MORNING and occ[0].status == DoseStatus.sent
    # Next ones at 08:00 New York = 13:00 UTC.
    assert {o.due_at.hour for o in occ[1:]} == {13}


def test_a_changed_schedule_replaces_future_unsent_occurrences(any_db: Session) -> None:
    patient = _patient(any_db)
    _run(MORNING - timedelta(hours=1))
    with dbmod.session() as db:
        [(med, _)] = medications.medications(db, patient.id)
        occurrences.replace_schedule(db, medication=med, actor="test",
                                  schedule=ScheduleSpec(times=("09:30",)),
                                  now=MORNING - timedelta(minutes=59, seconds=30))
    _run(MORNING - timedelta(minutes=59))
    live = [o for o in _occurrences(any_db) if o.status == DoseStatus.planned]
    assert {o.due_at.astimezone(UTC).strftime("%H:%M") for o in live} == {"08:30"}


@pytest.mark.postgres
def test_two_schedulers_racing_send_each_reminder_once(pg_db_url: str) -> None:
    with dbmod.session() as db:
        for n in range(20):
            team = teams.add_team(db, name=f"Team {n}", actor="test")
            person = patients.add_patient(db, team=team, name=f"P{n}", timezone="UTC",
                                          actor="test")
            medications.add_medication(db, patient=person, name="Aspirin", actor="test",
                                    schedule=ScheduleSpec(times=("07:00", "07:01")),
                                    now=WRITTEN)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                _run(MORNING + timedelta(minutes=2))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with dbmod.session() as db:
        sent = db.exec(select(OutboxMessage.occurrence_id)).all()
        assert len(sent) == 40 == len(set(sent))
        assert advance(db, POLICY, now=MORNING + timedelta(minutes=2)) == 0
        assert plan(db, POLICY, now=MORNING + timedelta(minutes=2)) == 0


def test_reminders_are_claimed_before_advice_when_both_wait(any_db: Session) -> None:
    from assistant.services import outbox
    from assistant.storage.models import ChatLink

    patient = _patient(any_db)
    any_db.add(ChatLink(patient_id=patient.id, chat_id="1"))
    any_db.add(OutboxMessage(patient_id=patient.id, kind=MessageKind.advice, priority=5,
                             text="tip", not_before=MORNING - timedelta(hours=1)))
    any_db.commit()
    _run(MORNING - timedelta(hours=1))
    _run(MORNING)
    with dbmod.session() as db:
        first = outbox.claim(db, channel="telegram", limit=1, now=MORNING)
    assert first[0].text.startswith("💊")


def test_a_low_supply_brings_one_refill_reminder_and_a_team_notice(any_db: Session) -> None:
    team = teams.add_team(any_db, name="Ward 7", actor="test")
    patient = patients.add_patient(any_db, team=team, name="Ada", timezone="UTC", actor="test")
    medications.add_medication(any_db, patient=patient, name="Aspirin", actor="test",
                            supply_count=6, refill_days=2, now=WRITTEN,
                            schedule=ScheduleSpec(times=("07:00", "19:00")))
    any_db.commit()
    _run(MORNING - timedelta(hours=1))
    for hours in (0, 12, 24):
        _run(MORNING + timedelta(hours=hours))
        occ = [o for o in _occurrences(any_db) if o.status == DoseStatus.sent][0]
        with dbmod.session() as db:
            apply_dose_button(db, patient_id=patient.id, data=f"dose:{occ.id}:taken",
                              snooze_minutes=15)
    refills = [m for m in _outbox(any_db) if m.kind == MessageKind.refill]
    assert [m.text for m in refills] == [
        "💊 You have 3 doses of Aspirin left, about 1.5 days. Please arrange a refill."]
    alerts = any_db.exec(select(Alert)).all()
    assert [a.kind for a in alerts] == [AlertKind.refill]


def test_a_database_out_of_reach_is_logged_once_and_its_return_once(
        caplog: pytest.LogCaptureFixture) -> None:
    """Not a traceback at every tick while the database is down (seen: one a second)."""
    import asyncio

    from assistant.scheduling.service import _guarded
    from tests.conftest import free_port

    unreachable = dbmod.make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/careloop")
    down = [True]

    def work() -> None:
        if down[0]:
            with unreachable.connect():
                pass

    job = _guarded("careloop-doses", work)
    with caplog.at_level("INFO", logger="assistant.scheduling.service"):
        for _ in range(3):
            asyncio.run(job())
        down[0] = False
        for _ in range(2):
            asyncio.run(job())
    assert [r.getMessage() for r in caplog.records] == [
        "careloop-doses: the database is out of reach (OperationalError); retrying at each tick",
        "careloop-doses: the database is back"]
    assert not any(r.exc_info for r in caplog.records)
