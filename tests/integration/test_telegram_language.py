"""A Spanish-speaking patient through the real bridge (python-telegram-bot against the Bot
API emulator; no Rasa runs): the notice in the phone's language, the offer to switch after
linking, /language and a request in words, reminders and their buttons, the fallback
while the assistant cannot answer, and the emergency guidance."""

from __future__ import annotations

import time

import pytest
from sqlmodel import col, select

from assistant.config import get_settings
from assistant.services import patients
from assistant.storage.db import session
from assistant.storage.models import Alert, AlertKind, AuditEntry, ChatLink, Patient
from assistant.texts import t
from tests.conftest import PrivatePostgres, free_port
from tests.integration.test_telegram_bridge import (
    CHAT,
    _alerts,
    _code,
    _due_now,
    _enrol,
    _linked,
    _patient,
    deliver_outbox,
)
from tests.telegram_emulator import Emulator


def _language(patient: Patient) -> str:
    with session() as db:
        stored = db.get(Patient, patient.id)
        assert stored is not None
        return stored.language


def _speaks_spanish(patient: Patient) -> None:
    with session() as db:
        stored = db.get(Patient, patient.id)
        assert stored is not None
        patients.update_profile(db, stored, {"language": "es"}, actor="test")


def test_a_spanish_phone_reads_the_notice_in_spanish_and_is_offered_spanish(
        bridge: Emulator) -> None:
    patient = _patient()  # the team left the profile in English
    bridge.inject_text(CHAT, f"/start {_code(patient)}", language="es")
    [notice] = bridge.wait_for(CHAT)
    assert notice.text == t("join.consent", "es")
    assert "No es un dispositivo médico" in notice.text
    assert [title for title, _ in notice.buttons] == ["✅ Acepto", "No, gracias"]
    bridge.wait_answered(bridge.inject_callback(CHAT, notice, notice.buttons[0][1], "es"))
    _, welcome, offer = bridge.wait_for(CHAT, 3)
    assert welcome.text == t("join.welcome", "en", name="Ada")  # the team's choice stands
    assert offer.text == t("language.offer", "es")
    assert offer.buttons == [("español", "lang:es"), ("English", "lang:en")]
    assert _language(patient) == "en"  # nothing changed by itself
    bridge.wait_answered(bridge.inject_callback(CHAT, offer, "lang:es", "es"))
    assert bridge.wait_for(CHAT, 4)[3].text == t("language.changed", "es")
    assert _language(patient) == "es"
    with session() as db:
        [audited] = db.exec(select(AuditEntry).where(
            AuditEntry.action == "patient.update", AuditEntry.patient_id == patient.id,
            AuditEntry.actor == "patient")).all()
        assert audited.detail == "language"


def test_an_english_phone_with_a_spanish_profile_is_not_offered_anything(
        bridge: Emulator) -> None:
    patient = _patient()
    _speaks_spanish(patient)
    bridge.inject_text(CHAT, f"/start {_code(patient)}", language="de")  # not spoken
    [notice] = bridge.wait_for(CHAT)
    assert notice.text == t("join.consent", "es")  # the profile's, the phone's not spoken
    bridge.wait_answered(bridge.inject_callback(CHAT, notice, notice.buttons[0][1], "de"))
    assert bridge.wait_for(CHAT, 2)[1].text == t("join.welcome", "es", name="Ada")
    bridge.inject_text(CHAT, "/stop", language="de")
    assert [m.text for m in bridge.wait_for(CHAT, 3)][2] == t("join.stopped", "es")


def test_a_chat_not_linked_hears_how_to_join_in_the_phones_language(bridge: Emulator) -> None:
    bridge.inject_text(CHAT, "hola", language="es")
    assert bridge.wait_for(CHAT)[0].text == t("join.hello", "es")
    bridge.inject_text(CHAT, "/start NOTACODE12", language="es-MX")
    assert bridge.wait_for(CHAT, 2)[1].text == t("join.refused", "es")
    bridge.inject_text(CHAT, "hello", language="fr")  # no French catalog: English
    assert bridge.wait_for(CHAT, 3)[2].text == t("join.hello")
    assert _linked() is None


def test_the_menu_is_registered_in_each_language(bridge: Emulator) -> None:
    bridge.wait_until(lambda: "es" in bridge.menus, "the Spanish menu registered")
    spanish = {c["command"]: c["description"] for c in bridge.menus["es"]}
    english = {c["command"]: c["description"] for c in bridge.menus[""]}
    assert set(spanish) == set(english) >= {"language", "today", "stop"}
    assert spanish["language"] == t("menu.language", "es") == "Cambiar el idioma"
    assert english["language"] == t("menu.language") == "Change the language"


def test_language_command_and_words_switch_the_language(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)  # English phone, English profile: no offer
    bridge.inject_text(CHAT, "/language")
    choice = bridge.wait_for(CHAT, 3)[2]
    assert choice.text == t("language.choose")
    assert choice.buttons == [("English", "lang:en"), ("español", "lang:es")]
    bridge.wait_answered(bridge.inject_callback(CHAT, choice, "lang:es"))
    assert bridge.wait_for(CHAT, 4)[3].text == t("language.changed", "es")
    assert _language(patient) == "es"
    bridge.inject_text(CHAT, "in english please")  # before the assistant (not running)
    assert bridge.wait_for(CHAT, 5)[4].text == t("language.changed", "en")
    assert _language(patient) == "en"
    bridge.inject_text(CHAT, "¿habla español?")
    assert bridge.wait_for(CHAT, 6)[5].text == t("language.changed", "es")
    bridge.inject_text(CHAT, "/language")
    assert bridge.wait_for(CHAT, 7)[6].text == t("language.choose", "es")
    assert _language(patient) == "es"


def test_a_spanish_patient_gets_spanish_reminders_buttons_and_outcomes(bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    _speaks_spanish(patient)
    _due_now(patient)
    deliver_outbox()
    reminder = bridge.wait_for(CHAT, 3)[2]
    assert reminder.text.startswith("💊 Es la hora de su Metformin 500 mg")
    assert [title for title, _ in reminder.buttons] == ["✅ Tomada", "⏰ Posponer 15 min",
                                                        "Omitir"]
    bridge.wait_answered(bridge.inject_callback(CHAT, reminder, reminder.buttons[0][1]))
    bridge.wait_until(lambda: any(t("dose.taken", "es", medication="Metformin 500 mg")
                                  in edit.get("text", "") for edit in bridge.edits),
                      "the Spanish outcome under the reminder")


def test_a_spanish_patient_gets_the_fallback_and_the_emergency_guidance_in_spanish(
        bridge: Emulator) -> None:
    patient = _patient()
    _enrol(bridge, patient)
    _speaks_spanish(patient)
    bridge.inject_text(CHAT, "¿qué tomo hoy?")  # the assistant is not running
    fallback = bridge.wait_for(CHAT, 3)[2].text
    assert fallback == t("conversation.unavailable", "es", number="112")
    assert fallback.startswith("Lo siento, ahora mismo no puedo responder.")
    bridge.inject_text(CHAT, "tengo mucho dolor en el pecho")
    guidance = bridge.wait_for(CHAT, 4)[3].text
    assert guidance == t("safety.emergency", "es", number="112",
                         crisis="la de su zona")
    assert guidance.startswith("🚨 Esto puede ser una emergencia. Llame ahora al 112")
    with session() as db:
        assert [a.kind for a in db.exec(select(Alert).where(
            Alert.patient_id == patient.id).order_by(col(Alert.id)))] == [AlertKind.emergency]


def test_a_language_button_outside_a_linked_chat_changes_nothing(bridge: Emulator) -> None:
    bridge.inject_text(CHAT + 1, "/language", language="es")  # not linked: how to join
    assert bridge.wait_for(CHAT + 1)[0].text == t("join.hello", "es")
    patient = _patient()
    _enrol(bridge, patient)
    bridge.inject_text(CHAT, "/language")
    choice = bridge.wait_for(CHAT, 3)[2]
    bridge.wait_answered(bridge.inject_callback(CHAT, choice, "lang:xx"))  # not spoken
    again = bridge.wait_for(CHAT, 4)[3]
    assert again.text == t("language.choose") and len(again.buttons) == 2
    bridge.inject_text(CHAT, "/stop")
    bridge.wait_for(CHAT, 5)
    bridge.wait_answered(bridge.inject_callback(CHAT, choice, "lang:es", "es"))  # too late
    assert bridge.wait_for(CHAT, 6)[5].text == t("join.hello", "es")
    assert _language(patient) == "en" and _linked() is None


@pytest.mark.postgres
def test_with_the_database_stopped_a_spanish_patient_still_reads_spanish(
        telegram_emulator: Emulator, own_postgres: PrivatePostgres,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.telegram_fixtures import Running, serve_telegram

    telegram = telegram_emulator
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # Rasa down
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "0")
    get_settings.cache_clear()
    patient = _patient()
    _speaks_spanish(patient)
    with session() as db:
        db.add(ChatLink(patient_id=patient.id, chat_id=str(CHAT)))
    unavailable = t("conversation.unavailable", "es", number="112")
    with Running(serve_telegram):
        telegram.inject_text(CHAT, "hola")
        assert telegram.wait_for(CHAT, timeout=30)[0].text == unavailable
        own_postgres.stop()
        telegram.inject_text(CHAT, "¿qué tomo hoy?")
        assert telegram.wait_for(CHAT, 2, timeout=30)[1].text == unavailable
        telegram.inject_text(CHAT, "me duele el pecho y no puedo respirar")
        assert telegram.wait_for(CHAT, 3, timeout=30)[2].text == t(
            "safety.emergency", "es", number="112", crisis="la de su zona")
        own_postgres.start()
        deadline = time.monotonic() + 30
        while not _alerts(patient):  # recorded once the database is back
            assert time.monotonic() < deadline, "the emergency's alert was never recorded"
            time.sleep(0.2)
        assert _alerts(patient) == [AlertKind.emergency]
