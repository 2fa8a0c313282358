"""The whole path, with every real part: python-telegram-bot against the Bot API
emulator, the bridge, the real Rasa 3.6 server and the rasa_sdk action server, and the
scheduler service (planner, steps and its Telegram outbox drain) on one SQL database.
The dose comes due through its schedule, on the clock, during the test."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from assistant.config import get_settings
from assistant.domain import zones
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces.supervisor import scheduler
from assistant.services import medications, patients, teams
from assistant.storage.db import session, utcnow
from assistant.storage.models import DoseOccurrence, DoseStatus, MessageKind, OutboxMessage, Patient
from tests.integration.test_telegram_bridge import CHAT, _enrol
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import Running, serve_telegram

pytestmark = pytest.mark.rasa

LEAD = timedelta(seconds=30)  # time to enrol and chat before the dose is due


def _patient_with_a_dose_soon(name: str) -> tuple[Patient, datetime]:
    """A patient whose Metformin is due at the first whole minute at least LEAD from now."""
    due = (utcnow() + LEAD).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with session() as db:
        team = teams.add_team(db, name=f"Team {name}", actor="test")
        patient = patients.add_patient(db, team=team, name=name, timezone="Europe/Berlin",
                                       actor="test")
        # No lifestyle advice today: the messages below are the whole chat.
        patients.update_profile(db, patient, {"advice_per_day": 0}, actor="test")
        at = due.astimezone(zones.zone(patient.timezone)).strftime("%H:%M")
        medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                actor="test", schedule=ScheduleSpec(times=(at,)))
        return patient, due


def _reply(emulator: Emulator, text: str) -> str:
    """What the bot answers the patient's message."""
    before = len(emulator.messages_to(CHAT))
    emulator.inject_text(CHAT, text)
    return emulator.wait_for(CHAT, before + 1, timeout=20)[before].text


def test_a_patient_chats_and_answers_a_reminder_on_telegram(
        stack_db_url: str, telegram_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = telegram_emulator
    monkeypatch.setenv("CARELOOP_SCHEDULER_TICK_SECONDS", "0.5")
    get_settings.cache_clear()
    with Running(serve_telegram), Running(scheduler):
        patient, due = _patient_with_a_dose_soon("Eve")
        local = due.astimezone(zones.zone(patient.timezone)).strftime("%H:%M")
        _enrol(emulator, patient)
        answer = _reply(emulator, "what do i take today?")
        assert "Metformin 500 mg" in answer and local in answer

        reminder = emulator.wait_for_text(CHAT, "💊 Time for your Metformin 500 mg",
                                          timeout=(due - utcnow()).total_seconds() + 20)
        assert reminder.at >= due.timestamp()  # on time, not before
        assert [title for title, _ in reminder.buttons] == ["✅ Taken", "⏰ Snooze 15 min",
                                                            "Skip"]

        assert "taken" in _reply(emulator, "done, took my metformin")
        # An oximeter's reading, urgent: saved, and what to do now (Rasa reads it as one).
        assert _reply(emulator, "my oxygen reading is 84") == (
            "Saved: oxygen saturation 84 %. Your care team can see it. This reading is far "
            "outside your target. If you feel unwell, for example with chest pain, trouble "
            "breathing, fainting or confusion, call 112 now.")
    with session() as db:
        [occ] = db.exec(select(DoseOccurrence).where(DoseOccurrence.patient_id == patient.id,
                                                     DoseOccurrence.due_at == due)).all()
        assert occ.status == DoseStatus.taken and occ.outcome_source == "chat"
        sent = db.exec(select(OutboxMessage).where(OutboxMessage.occurrence_id == occ.id))
        assert [m.kind for m in sent] == [MessageKind.reminder]
