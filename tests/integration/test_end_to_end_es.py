"""A Spanish-speaking patient along the whole path, with every real part: python-telegram-bot
against the Bot API emulator, the bridge, the real Rasa 3.6 server (one model for both
languages) and the rasa_sdk action server on one SQL database. Enrolment with consent, a
plan question, a reminder answered with its button, a reading, an emergency wording and a
medical question relayed to the care team: all read in Spanish, all recorded as said."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from assistant.storage.db import session
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    DoseOccurrence,
    DoseStatus,
    Patient,
    Reading,
)
from assistant.texts import t
from tests.integration.test_telegram_bridge import CHAT, _code, _due_now, _patient, deliver_outbox
from tests.integration.test_telegram_language import _speaks_spanish
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import Running, serve_telegram

pytestmark = pytest.mark.rasa

ES = "es"  # the patient's phone and profile


def _say(emulator: Emulator, text: str) -> str:
    """What the bot answers the patient's message, written on a Spanish phone."""
    before = len(emulator.messages_to(CHAT))
    emulator.inject_text(CHAT, text, language=ES)
    return emulator.wait_for(CHAT, before + 1, timeout=30)[before].text


def _enrol_in_spanish(emulator: Emulator, patient: Patient) -> None:
    emulator.inject_text(CHAT, f"/start {_code(patient)}", language=ES)
    [notice] = emulator.wait_for(CHAT)
    assert notice.text == t("join.consent", ES)
    assert [title for title, _ in notice.buttons] == ["✅ Acepto", "No, gracias"]
    emulator.wait_answered(emulator.inject_callback(CHAT, notice, notice.buttons[0][1], ES))
    welcome = emulator.wait_for(CHAT, 2)[1]
    assert welcome.text == t("join.welcome", ES, name=patient.display_name)


def _alerts(patient: Patient) -> list[Alert]:
    with session() as db:
        return list(db.exec(select(Alert).where(Alert.patient_id == patient.id)
                            .order_by(col(Alert.id))))


def test_a_spanish_patient_is_helped_in_spanish_from_enrolment_to_a_relayed_question(
        stack_db_url: str, telegram_emulator: Emulator) -> None:
    emulator = telegram_emulator
    patient = _patient("Lucía")  # Metformin 500 mg at 08:00, Europe/Berlin
    _speaks_spanish(patient)
    with Running(serve_telegram):
        _enrol_in_spanish(emulator, patient)
        with session() as db:
            stored = db.get(Patient, patient.id)
            assert stored is not None and stored.consent_at is not None

        plan = _say(emulator, "¿qué me toca tomar hoy?")
        assert plan.startswith(t("plan.today", ES, lines="")), plan
        assert "08:00 Metformin 500 mg" in plan  # the name as prescribed

        occurrence = _due_now(patient)
        deliver_outbox()
        reminder = emulator.wait_for_text(CHAT, "💊 Es la hora de su Metformin 500 mg")
        assert [title for title, _ in reminder.buttons] == ["✅ Tomada", "⏰ Posponer 15 min",
                                                            "Omitir"]
        emulator.wait_answered(emulator.inject_callback(CHAT, reminder,
                                                        reminder.buttons[0][1], ES))
        taken = t("dose.taken", ES, medication="Metformin 500 mg")
        emulator.wait_until(lambda: any(taken in edit.get("text", "")
                                        for edit in emulator.edits),
                            "the Spanish outcome under the reminder")

        saved = _say(emulator, "mi tensión es 135/85")
        assert saved == t("reading.saved", ES, reading=t("reading.bp", ES, systolic="135",
                                                         diastolic="85"))

        low = _say(emulator, "la saturación está en 84")
        assert low == t("reading.saved", ES, reading="saturación de oxígeno 84 %") + " " + t(
            "reading.urgent", ES, number="112")

        guidance = _say(emulator, "me duele mucho el pecho")
        assert guidance == t("safety.emergency", ES, number="112",
                             crisis="la de su zona")
        assert "112" in guidance.splitlines()[0]  # the number at once

        question = "¿puedo tomar ibuprofeno con la metformina?"
        assert _say(emulator, question) == t("safety.relayed", ES)

    with session() as db:
        occ = db.get(DoseOccurrence, occurrence)
        assert occ is not None
        assert occ.status == DoseStatus.taken and occ.outcome_source == "button"
        stored = db.exec(select(Reading).where(Reading.patient_id == patient.id)
                         .order_by(col(Reading.id))).all()
        assert [(r.kind, r.value, r.value2) for r in stored] == [("blood_pressure", 135, 85),
                                                                 ("spo2", 84, None)]
    low, emergency, relayed = _alerts(patient)
    assert low.kind == AlertKind.reading and low.severity == AlertSeverity.urgent
    assert emergency.kind == AlertKind.emergency and emergency.severity == AlertSeverity.urgent
    assert emergency.summary == t("alert.emergency", text="me duele mucho el pecho")
    assert relayed.kind == AlertKind.question
    assert relayed.summary == t("alert.question", text=question)  # as the patient wrote it
