"""Confirm before escalating, with every real part: a device posts a high reading through
the REST API; the scheduler's outbox drain brings the request to re-measure, with its
buttons, to the patient's Telegram chat (python-telegram-bot against the Bot API emulator,
the real bridge); a button is pressed; the patient types a normal reading, which goes
through the real Rasa 3.6 server and the rasa_sdk action server; the alert is closed as a
measuring error and the patient thanked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.config import get_settings
from assistant.interfaces.supervisor import scheduler
from assistant.interfaces.web.app import create_app
from assistant.services import sessions, teams
from assistant.storage.db import session, utcnow
from assistant.storage.models import Alert, AlertStatus, Role
from assistant.texts import t
from tests.integration.test_telegram_bridge import CHAT, _enrol, _patient
from tests.observation_docs import blood_pressure, bundle
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import Running, serve_telegram

pytestmark = pytest.mark.rasa


def _token(team_id: int) -> str:
    with session() as db:
        team = teams.get_team(db, team_id)
        member = teams.add_member(db, team=team, name="Nurse", email="nurse@north.example",
                                  role=Role.clinician, password_hash=None, actor="test")
        return sessions.issue_token(db, member, name="device hub", actor="test")


def _alert(patient_id: int) -> Alert:
    with session() as db:
        return db.exec(select(Alert).where(Alert.patient_id == patient_id)).one()


def test_a_device_reading_is_confirmed_in_chat_and_closed_as_a_measuring_error(
        stack_db_url: str, telegram_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = telegram_emulator
    monkeypatch.setenv("CARELOOP_SCHEDULER_TICK_SECONDS", "0.5")
    get_settings.cache_clear()
    patient = _patient("Uma")
    headers = {"Authorization": f"Bearer {_token(patient.team_id)}"}
    with Running(serve_telegram), Running(scheduler):
        _enrol(emulator, patient)
        now = utcnow().replace(microsecond=0)
        with TestClient(create_app(), base_url="http://127.0.0.1") as api:
            posted = api.post(f"/api/v1/patients/{patient.id}/observations", headers=headers,
                              json=bundle("collection", *(
                                  blood_pressure(s, d, (now - timedelta(minutes=m)).isoformat(),
                                                 device="cuff")
                                  for s, d, m in ((165, 98, 12), (166, 97, 6)))))
            assert posted.status_code in (200, 201), posted.text
            [shown] = api.get(f"/api/v1/alerts?patient_id={patient.id}",
                              headers=headers).json()
        assert shown["status"] == "confirming"

        ask = emulator.wait_for_text(CHAT, "Your blood pressure reading (166/97 mmHg) is "
                                           "higher than your target", timeout=20)
        assert [title for title, _ in ask.buttons] == [
            "🔁 I'll measure again", "It was a measuring error", "I can't measure now"]
        before = len(emulator.messages_to(CHAT))
        emulator.wait_answered(emulator.inject_callback(CHAT, ask, ask.buttons[1][1]))
        said = emulator.wait_for(CHAT, before + 1)[before].text
        assert said.startswith("Thank you. Please measure again now")
        assert _alert(patient.id).status == AlertStatus.confirming   # the button alone: no

        emulator.inject_text(CHAT, "128/82")
        emulator.wait_for_text(CHAT, "Saved: blood pressure 128/82 mmHg", timeout=30)
        emulator.wait_for_text(CHAT, t("confirm.fine"), timeout=20)
    alert = _alert(patient.id)
    assert alert.status == AlertStatus.resolved
    assert alert.resolution_note is not None
    assert alert.resolution_note.startswith("Measuring error: the patient re-measured")
