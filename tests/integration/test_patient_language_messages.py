"""What CareLoop queues on its own for a Spanish-speaking patient is Spanish when it is
queued: the scheduler's reminder (at "20:00", with Spanish buttons), a refill reminder
("1,5 días"), the nudge for a reading that did not come, and the request to re-measure.
Medication names stay as prescribed; what the team reads stays in the team's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from assistant.domain.schedule_specs import ScheduleSpec
from assistant.scheduling.planner import Policy, run_once
from assistant.services import medications, monitoring, patients, teams
from assistant.services.doses import apply_dose_button
from assistant.storage import db as dbmod
from assistant.storage.models import (
    Alert,
    ChatLink,
    DoseOccurrence,
    DoseStatus,
    MeasureTarget,
    MessageKind,
    OutboxMessage,
    Patient,
)
from assistant.texts import t
from tests.observation_docs import ago, blood_pressure, observation, send

POLICY = Policy(horizon=timedelta(hours=48), grace=timedelta(minutes=60),
                followup=timedelta(minutes=30), snooze_minutes=15)
EVENING = datetime(2027, 1, 11, 19, 0, tzinfo=UTC)  # 20:00 in Madrid, a winter Monday
WRITTEN = EVENING - timedelta(days=1)


def _patient(db: Session, *, timezone: str = "Europe/Madrid") -> Patient:
    team = teams.add_team(db, name="Sala 7", actor="test")
    patient = patients.add_patient(db, team=team, name="Ana", timezone=timezone,
                                   language="es", actor="test")
    db.add(ChatLink(patient_id=patient.id, chat_id="5001"))
    db.commit()
    return patient


def _outbox(db: Session, kind: MessageKind) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)
                        .order_by(col(OutboxMessage.id))).all())


def test_the_scheduler_reminds_a_spanish_patient_in_spanish_at_the_local_time(
        db: Session) -> None:
    patient = _patient(db)
    medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                               instructions="with food", actor="test", now=WRITTEN,
                               schedule=ScheduleSpec(times=("20:00",)))
    db.commit()
    run_once(dbmod.get_engine(), POLICY, now=EVENING)
    [reminder] = _outbox(db, MessageKind.reminder)
    assert reminder.text == "💊 Es la hora de su Metformin 500 mg, 1 tablet, with food (20:00)."
    assert [b["text"] for b in reminder.buttons[0]] == ["✅ Tomada", "⏰ Posponer 15 min",
                                                        "Omitir"]
    run_once(dbmod.get_engine(), POLICY, now=EVENING + POLICY.followup)  # no answer yet
    [_, nudge] = [m.text for m in _outbox(db, MessageKind.reminder)
                  + _outbox(db, MessageKind.nudge)]
    assert nudge == t("reminder.nudge", "es", dose="Metformin 500 mg, 1 tablet, with food",
                      time="20:00")


def test_a_refill_reminder_is_spanish_with_the_local_decimal_comma(db: Session) -> None:
    patient = _patient(db, timezone="UTC")
    medications.add_medication(db, patient=patient, name="Aspirin", actor="test",
                               supply_count=6, refill_days=2, now=WRITTEN,
                               schedule=ScheduleSpec(times=("07:00", "19:00")))
    db.commit()
    morning = datetime(2027, 1, 11, 7, 0, tzinfo=UTC)
    run_once(dbmod.get_engine(), POLICY, now=morning - timedelta(hours=1))
    for hours in (0, 12, 24):
        run_once(dbmod.get_engine(), POLICY, now=morning + timedelta(hours=hours))
        db.expire_all()
        occ = db.exec(select(DoseOccurrence).where(
            DoseOccurrence.status == DoseStatus.sent)).first()
        assert occ is not None
        with dbmod.session() as work:
            said = apply_dose_button(work, patient_id=patient.id, data=f"dose:{occ.id}:taken",
                                     snooze_minutes=15, language="es")
        assert said == t("dose.taken", "es", medication="Aspirin")
    [refill] = _outbox(db, MessageKind.refill)
    assert refill.text == t("refill.due", "es", count=3, medication="Aspirin", days="1,5")
    [alert] = db.exec(select(Alert)).all()
    assert alert.summary == t("alert.refill", medication="Aspirin", days="1.5")  # the team's


def test_the_nudge_for_a_reading_that_did_not_come_is_spanish(db: Session) -> None:
    patient = _patient(db)
    db.add(MeasureTarget(team_id=patient.team_id, patient_id=patient.id, measure="weight",
                         expect_every_hours=24, confirmed_at=ago(days=10)))
    send(db, patient, observation("29463-7", 80, "kg", ago(days=4).isoformat()))
    assert monitoring.check_missing(db, patient=patient) == 1
    db.commit()
    [nudge] = _outbox(db, MessageKind.nudge)
    assert nudge.text == t("monitoring.missing_nudge", "es", measure="peso", since="4 días")
    assert nudge.text.startswith("No hemos recibido su peso desde hace 4 días.")


def test_the_request_to_re_measure_is_spanish(db: Session) -> None:
    patient = _patient(db)
    send(db, patient, *(blood_pressure(s, d, ago(minutes=m).isoformat(), device="cuff")
                        for s, d, m in ((165, 95, 20), (168, 96, 10))))
    [ask] = _outbox(db, MessageKind.confirm)
    assert ask.text.startswith("Su lectura de presión arterial (168/96 mmHg) está por encima "
                               "de su objetivo. Por favor, siéntese en reposo 5 minutos")
    assert [b["text"] for row in ask.buttons for b in row][0] == t("confirm.button_again", "es")
    [alert] = db.exec(select(Alert)).all()
    assert alert.summary == "Reading out of range: systolic 168 above 160 mmHg"  # the team's
