"""The scheduler and the sender as separate roles: with CARELOOP_SCHEDULER_SENDS=false a
scheduler worker queues reminders and sends nothing; `careloop run --only sender` delivers
the outbox and plans nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlmodel import select

from assistant.config import get_settings
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces import supervisor
from assistant.services import medications, patients, teams
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    ChatLink,
    DoseOccurrence,
    DoseStatus,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from tests.conftest import REPO
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import Running

CHAT = 4242


def _dose_due_now() -> None:
    with session() as db:
        team = teams.add_team(db, name="Roles", actor="test")
        patient = patients.add_patient(db, team=team, name="Ada", timezone="UTC", actor="test")
        medications.add_medication(db, patient=patient, name="Metformin", actor="test",
                                   schedule=ScheduleSpec(times=("23:59",)))
        db.add(ChatLink(patient_id=patient.id, chat_id=str(CHAT)))
        [(med, row)] = medications.medications(db, patient.id)
        assert row is not None
        db.add(DoseOccurrence(schedule_id=row.id, medication_id=med.id, patient_id=patient.id,
                              due_at=utcnow().replace(microsecond=0)))


def _outbox() -> list[OutboxStatus]:
    with session() as db:
        return list(db.exec(select(OutboxMessage.status)).all())


def _until(found: Callable[[], object], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _dose_ticks() -> float:
    """How many dose-planning passes this process has run (the scheduler runs in a thread)."""
    return REGISTRY.get_sample_value("careloop_scheduler_job_seconds_count",
                                     {"job": "careloop-doses"}) or 0.0


@pytest.fixture
def roles(telegram_emulator: Emulator, db_url: str,
          monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("CARELOOP_SCHEDULER_SENDS", "false")
    monkeypatch.setenv("CARELOOP_SCHEDULER_TICK_SECONDS", "0.2")
    get_settings.cache_clear()
    _dose_due_now()
    return telegram_emulator


def test_a_scheduler_that_does_not_send_queues_the_reminder_and_sends_nothing(
        roles: Emulator) -> None:
    with Running(supervisor.scheduler):
        _until(lambda: _outbox() == [OutboxStatus.pending], "the reminder was never queued")
        ticks = _dose_ticks()
        # Longer than a drain takes to find a due message (its idle wait is 0.5 s).
        _until(lambda: _dose_ticks() >= ticks + 5, "the scheduler stopped ticking")
    assert roles.sent == []
    assert _outbox() == [OutboxStatus.pending]


def test_a_sender_delivers_what_the_scheduler_queued_and_plans_nothing(
        roles: Emulator) -> None:
    with Running(supervisor.scheduler):
        _until(lambda: _outbox() == [OutboxStatus.pending], "the reminder was never queued")
    with Running(supervisor.sender):
        message = roles.wait_for_text(CHAT, "Time for your Metformin")
        _until(lambda: _outbox() == [OutboxStatus.sent], "the send was never recorded")
    assert [b for b, _ in message.buttons] == ["✅ Taken", "⏰ Snooze 15 min", "Skip"]
    # The sender alone plans nothing: a dose due now is still not reminded when a message
    # queued to go out 1.5 s later (many planning ticks) has been delivered.
    with session() as db:
        [row] = db.exec(select(DoseOccurrence).where(
            DoseOccurrence.status == DoseStatus.sent)).all()
        due = DoseOccurrence(schedule_id=row.schedule_id, medication_id=row.medication_id,
                             patient_id=row.patient_id, due_at=row.due_at - timedelta(minutes=1))
        db.add(due)
        db.add(OutboxMessage(patient_id=row.patient_id, kind=MessageKind.reply, text="Marker",
                             not_before=utcnow() + timedelta(seconds=1.5)))
        db.flush()
        due_id = due.id
    with Running(supervisor.sender):
        roles.wait_for_text(CHAT, "Marker")
    assert [m.text for m in roles.messages_to(CHAT)][1:] == ["Marker"]
    with session() as db:
        occurrence = db.get(DoseOccurrence, due_id)
        assert occurrence is not None and occurrence.status == DoseStatus.planned


def test_a_sender_needs_a_channel(db_url: str) -> None:
    done = subprocess.run([sys.executable, "-m", "assistant", "run", "--only", "sender"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "no channel to serve: set CARELOOP_TELEGRAM_TOKEN" in done.stderr + done.stdout
