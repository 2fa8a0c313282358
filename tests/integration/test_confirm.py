"""Confirm before escalating, on SQLite and PostgreSQL: a warning-level reading waits for the
patient to re-measure (one chat message with buttons, through the outbox); the next reading
closes it as a measuring error or hands it to the team; heart failure asks about
breathlessness and ankles, and a "yes" goes to the team at once; no answer within 30 minutes
goes to the team (the scheduler's step, on an explicit clock); an urgent value, or a patient
without a chat, goes to the team at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from assistant.errors import InvalidInput
from assistant.scheduling import confirmations as confirmation_step
from assistant.services import alerts, confirmations, monitoring, readings
from assistant.services.teams import add_team
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    Alert,
    AlertSeverity,
    AlertStatus,
    ChatLink,
    MessageKind,
    OutboxMessage,
    Patient,
)
from assistant.texts import t
from tests.integration.test_telegram_bridge import CHAT, _enrol, _patient, deliver_outbox
from tests.observation_docs import ago, blood_pressure, send
from tests.telegram_emulator import Emulator


@pytest.fixture
def patient(any_db: Session) -> Patient:
    """A patient with a linked chat, on the default blood pressure targets (warning from
    160 systolic after two readings in a row, urgent from 180)."""
    team = add_team(any_db, name="North", actor="test")
    found = Patient(team_id=team.id, display_name="Ada")
    any_db.add(found)
    any_db.flush()
    any_db.add(ChatLink(patient_id=found.id, chat_id="5001"))
    any_db.commit()
    return found


def _bp(systolic: float, diastolic: float, at: datetime) -> Any:
    return blood_pressure(systolic, diastolic, at.isoformat(), device="cuff")


HIGH_TWICE = (_bp(165, 95, ago(minutes=20)), _bp(168, 96, ago(minutes=10)))


def _alerts(db: Session) -> list[Alert]:
    db.expire_all()
    return list(db.exec(select(Alert).order_by(col(Alert.id))).all())


def _messages(db: Session) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def _high_twice(db: Session, patient: Patient) -> Alert:
    """Two warning-level readings: persistence is satisfied; the alert waits."""
    send(db, patient, *HIGH_TWICE)
    [alert] = _alerts(db)
    return alert


def _chat_reading(db: Session, patient: Patient, systolic: float, diastolic: float) -> None:
    """What the patient types in chat, as Rasa's log_reading action stores it."""
    readings.record(db, patient=patient, kind="blood_pressure", value=systolic,
                    value2=diastolic)
    db.commit()


def test_a_warning_waits_for_the_patient_with_one_request_and_its_buttons(
        any_db: Session, patient: Patient) -> None:
    alert = _high_twice(any_db, patient)
    assert (alert.status, alert.severity, alert.measure) == (
        AlertStatus.confirming, AlertSeverity.high, "blood_pressure")
    [ask] = _messages(any_db)
    assert ask.kind == MessageKind.confirm and ask.patient_id == patient.id
    assert ask.text.startswith("Your blood pressure reading (168/96 mmHg) is higher than "
                               "your target. Please sit quietly for 5 minutes")
    assert [[b["data"] for b in row] for row in ask.buttons] == [
        [f"confirm:{alert.id}:again", f"confirm:{alert.id}:error"],
        [f"confirm:{alert.id}:cannot"]]
    assert all(len(b["data"].encode()) <= 64 for row in ask.buttons for b in row)
    # Not the team's yet: not among the open alerts.
    assert alerts.alerts(any_db, patient.team_id, status=AlertStatus.open) == []
    # The same readings again, and a re-evaluation: no second request, nothing reopened.
    send(any_db, patient, *HIGH_TWICE)
    monitoring.evaluate(any_db, patient=patient)
    any_db.commit()
    assert [(a.id, a.status) for a in _alerts(any_db)] == [(alert.id, AlertStatus.confirming)]
    assert len(_messages(any_db)) == 1


def test_a_re_measure_back_in_range_closes_it_as_a_measuring_error(
        any_db: Session, patient: Patient) -> None:
    alert = _high_twice(any_db, patient)
    _chat_reading(any_db, patient, 128, 82)
    [closed] = _alerts(any_db)
    assert closed.id == alert.id and closed.status == AlertStatus.resolved
    assert closed.resolution_note is not None
    assert closed.resolution_note.startswith("Measuring error: the patient re-measured and "
                                             "the next reading (blood pressure 128/82 mmHg")
    assert [m.text for m in _messages(any_db)][1:] == [t("confirm.fine")]
    # Re-evaluated, the old evidence raises nothing again and the patient is not re-asked.
    monitoring.evaluate(any_db, patient=patient)
    any_db.commit()
    assert len(_alerts(any_db)) == 1 and len(_messages(any_db)) == 2


def test_a_re_measure_still_high_goes_to_the_team_confirmed(
        any_db: Session, patient: Patient) -> None:
    _high_twice(any_db, patient)
    _chat_reading(any_db, patient, 166, 97)
    [alert] = _alerts(any_db)
    assert (alert.status, alert.severity) == (AlertStatus.open, AlertSeverity.high)
    assert alert.summary == ("Reading out of range: systolic 168 above 160 mmHg; confirmed "
                             "by a second reading (blood pressure 166/97 mmHg)")
    assert [m.text for m in _messages(any_db)][1:] == [t("confirm.team_told")]
    monitoring.evaluate(any_db, patient=patient)
    any_db.commit()
    assert [a.status for a in _alerts(any_db)] == [AlertStatus.open]
    assert len(_messages(any_db)) == 2


def test_an_urgent_value_while_confirming_goes_to_the_team_at_once(
        any_db: Session, patient: Patient) -> None:
    _high_twice(any_db, patient)
    send(any_db, patient, _bp(186, 100, ago(minutes=1)))
    [alert] = _alerts(any_db)
    assert (alert.status, alert.severity) == (AlertStatus.open, AlertSeverity.urgent)
    assert "systolic 186 above 180" in alert.summary


def test_heart_failure_asks_about_breath_and_ankles_and_a_yes_alerts_the_team_at_once(
        any_db: Session, patient: Patient) -> None:
    patient.conditions = ["Heart failure"]
    any_db.add(patient)
    any_db.commit()
    alert = _high_twice(any_db, patient)
    [ask] = _messages(any_db)
    assert "more breathless than usual" in ask.text and "ankles" in ask.text
    assert [[b["text"] for b in row] for row in ask.buttons][2:] == [
        ["More breathless: yes", "More breathless: no"],
        ["Ankles more swollen: yes", "Ankles more swollen: no"]]
    stranger = Patient(team_id=patient.team_id, display_name="Bo")
    any_db.add(stranger)
    any_db.commit()
    assert confirmations.answer(any_db, patient=stranger,
                                data=f"confirm:{alert.id}:breathless_yes") is None
    noted = confirmations.answer(any_db, patient=patient, data=f"confirm:{alert.id}:ankles_no")
    assert noted == confirmations.Answer(t("confirm.noted"), done=False)
    again = confirmations.answer(any_db, patient=patient, data=f"confirm:{alert.id}:error")
    assert again is not None and not again.done and "measure again" in again.text
    any_db.commit()
    assert _alerts(any_db)[0].status == AlertStatus.confirming  # a button alone closes nothing
    told = confirmations.answer(any_db, patient=patient,
                                data=f"confirm:{alert.id}:breathless_yes")
    any_db.commit()
    assert told is not None and told.done and "112" in told.text
    [alert] = _alerts(any_db)
    assert alert.status == AlertStatus.open
    assert alert.summary.endswith("; the patient reports being more breathless than usual")
    late = confirmations.answer(any_db, patient=patient, data=f"confirm:{alert.id}:ankles_yes")
    assert late == confirmations.Answer(t("confirm.with_team"), done=True)


def test_i_cannot_measure_now_alerts_the_team_at_once(any_db: Session,
                                                      patient: Patient) -> None:
    alert = _high_twice(any_db, patient)
    confirmations.answer(any_db, patient=patient, data=f"confirm:{alert.id}:cannot")
    any_db.commit()
    [alert] = _alerts(any_db)
    assert alert.status == AlertStatus.open
    assert alert.summary.endswith("; the patient cannot re-measure now")


def test_no_answer_within_30_minutes_goes_to_the_team(any_db: Session,
                                                      patient: Patient) -> None:
    alert = _high_twice(any_db, patient)
    asked = alert.created_at
    assert confirmation_step.check_confirmations(
        any_db, now=asked + confirmations.CONFIRM_WAIT - timedelta(seconds=1)) == 0
    any_db.commit()
    assert _alerts(any_db)[0].status == AlertStatus.confirming
    assert confirmation_step.check_confirmations(
        any_db, now=asked + confirmations.CONFIRM_WAIT) == 1
    any_db.commit()
    [alert] = _alerts(any_db)
    assert alert.status == AlertStatus.open
    assert alert.summary == ("Reading out of range: systolic 168 above 160 mmHg; no answer "
                             "to the re-measure request within 30 min")
    assert confirmation_step.check_confirmations(
        any_db, now=asked + 2 * confirmations.CONFIRM_WAIT) == 0   # once
    # A reading after that changes nothing the team already has.
    _chat_reading(any_db, patient, 128, 82)
    assert [a.status for a in _alerts(any_db)] == [AlertStatus.open]


def test_an_urgent_value_goes_to_the_team_at_once_without_a_request(
        any_db: Session, patient: Patient) -> None:
    send(any_db, patient, _bp(192, 96, ago(minutes=5)))
    [alert] = _alerts(any_db)
    assert (alert.status, alert.severity) == (AlertStatus.open, AlertSeverity.urgent)
    assert _messages(any_db) == []


def test_without_a_chat_a_warning_goes_to_the_team_at_once(any_db: Session,
                                                           patient: Patient) -> None:
    link = any_db.exec(select(ChatLink)).one()
    link.unlinked_at = utcnow()
    any_db.add(link)
    any_db.commit()
    alert = _high_twice(any_db, patient)
    assert alert.status == AlertStatus.open
    assert _messages(any_db) == []


def test_the_team_cannot_set_confirming_itself(any_db: Session, patient: Patient) -> None:
    send(any_db, patient, _bp(192, 96, ago(minutes=5)))
    [alert] = _alerts(any_db)
    with pytest.raises(InvalidInput, match="status"):
        alerts.update_alert(any_db, alert, actor="test", status=AlertStatus.confirming)


def test_the_request_and_its_buttons_on_telegram(bridge: Emulator) -> None:
    """The real bridge and python-telegram-bot against the Bot API emulator (no Rasa: the
    buttons are recorded directly)."""
    ada = _patient("Ada")
    _enrol(bridge, ada)
    with session() as db:
        send(db, ada, *HIGH_TWICE)
        [alert] = _alerts(db)
        assert alert.status == AlertStatus.confirming
    deliver_outbox()
    ask = bridge.wait_for_text(CHAT, "is higher than your target")
    assert [title for title, _ in ask.buttons] == [
        "🔁 I'll measure again", "It was a measuring error", "I can't measure now"]
    before = len(bridge.messages_to(CHAT))
    bridge.wait_answered(bridge.inject_callback(CHAT, ask, ask.buttons[0][1]))
    reply = bridge.wait_for(CHAT, before + 1)[before]
    assert reply.text.startswith("Thank you. Send me the new reading")
    assert not any(str(e.get("message_id")) == str(ask.message_id) for e in bridge.edits)
    with session() as db:
        assert _alerts(db)[0].status == AlertStatus.confirming   # still waiting
    bridge.wait_answered(bridge.inject_callback(CHAT, ask, ask.buttons[2][1]))
    reply = bridge.wait_for(CHAT, before + 2)[before + 1]
    assert reply.text.startswith("Thank you. I've passed this on to your care team")
    bridge.wait_until(lambda: any(str(e.get("message_id")) == str(ask.message_id)
                                  for e in bridge.edits), "the buttons taken off")
    with session() as db:
        [alert] = _alerts(db)
        assert alert.status == AlertStatus.open
        assert alert.summary.endswith("the patient cannot re-measure now")
    # Another patient's alert pressed from this chat changes nothing.
    bob = _patient("Bob")
    with session() as db:
        bob_row = db.get(Patient, bob.id)
        assert bob_row is not None
        db.add(ChatLink(patient_id=bob.id, channel="console", chat_id="bob"))
        db.flush()
        send(db, bob_row, *HIGH_TWICE)
        [_, bobs] = _alerts(db)
    bridge.wait_answered(bridge.inject_callback(CHAT, ask, f"confirm:{bobs.id}:cannot"))
    bridge.wait_until(lambda: sum(str(e.get("message_id")) == str(ask.message_id)
                                  for e in bridge.edits) >= 2, "the press handled")
    with session() as db:
        assert _alerts(db)[1].status == AlertStatus.confirming
