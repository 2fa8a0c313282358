"""The whole path, with every real part: python-telegram-bot against the Bot API
emulator, the bridge, the real Rasa 3.6 server and the rasa_sdk action server, the
scheduler's steps and the outbox drain, on one SQL database."""

from __future__ import annotations

import pytest
from sqlmodel import select

from assistant.db import session
from assistant.models import DoseOccurrence, DoseStatus, MessageKind, OutboxMessage
from assistant.telegram.bridge import run_bridge
from tests.integration.test_telegram_bridge import CHAT, _due_now, _enrol, _patient, deliver_outbox
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import Running

pytestmark = pytest.mark.rasa


def test_a_patient_chats_and_answers_a_reminder_on_telegram(
        stack_db_url: str, telegram_emulator: Emulator) -> None:
    emulator = telegram_emulator
    with Running(run_bridge):
        patient = _patient("Eve")
        _enrol(emulator, patient)
        emulator.inject_text(CHAT, "what do i take today?")
        answer = emulator.wait_for(CHAT, 3, timeout=20)[2].text
        assert "Metformin 500 mg" in answer and "08:00" in answer

        occurrence = _due_now(patient)
        deliver_outbox()
        reminder = emulator.wait_for(CHAT, 4)[3]
        assert reminder.text.startswith("💊 Time for your Metformin 500 mg")

        emulator.inject_text(CHAT, "done, took my metformin")
        assert "taken" in emulator.wait_for(CHAT, 5, timeout=20)[4].text
    with session() as db:
        occ = db.get(DoseOccurrence, occurrence)
        assert occ is not None and occ.status == DoseStatus.taken and occ.outcome_source == "chat"
        sent = db.exec(select(OutboxMessage).where(OutboxMessage.occurrence_id == occurrence))
        assert [m.kind for m in sent] == [MessageKind.reminder]
