"""The scheduler process killed (SIGKILL) while a reminder is in flight to the Bot API
emulator (Telegram has it, the outbox does not know yet), at a random one of its sends,
and started again: every due reminder arrives, and a kill costs at most one duplicate."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlmodel import select

from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import medications, patients, teams
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    ChatLink,
    DoseOccurrence,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from tests.conftest import REPO
from tests.telegram_emulator import Emulator

PATIENTS, KILLS = 40, 3


def _due_reminders() -> None:
    with session() as db:
        team = teams.add_team(db, name="Crash", actor="test")
        for n in range(PATIENTS):
            patient = patients.add_patient(db, team=team, name=f"P{n}", timezone="UTC",
                                           actor="test")
            medications.add_medication(db, patient=patient, name="Aspirin", actor="test",
                                    schedule=ScheduleSpec(times=("23:59",)))
            db.add(ChatLink(patient_id=patient.id, chat_id=str(7000 + n)))
            [(med, row)] = medications.medications(db, patient.id)
            assert row is not None
            db.add(DoseOccurrence(schedule_id=row.id, medication_id=med.id,
                                  patient_id=patient.id, due_at=utcnow().replace(microsecond=0)))


def _scheduler(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CARELOOP_SCHEDULER_TICK_SECONDS": "0.2",
           "CARELOOP_OUTBOX_LEASE_SECONDS": "2", "CARELOOP_TELEGRAM_RATE_PER_SECOND": "20"}
    log = open(tmp_path / "scheduler.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "assistant", "run", "--only",
                             "scheduler"], cwd=REPO, env=env, stdout=log, stderr=log)


def _pending() -> int:
    with session() as db:
        return len(db.exec(select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.pending)).all())


def _status(chat_id: str) -> OutboxStatus:
    with session() as db:
        return db.exec(select(OutboxMessage.status).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.kind == MessageKind.reminder)).one()


def test_killing_the_scheduler_mid_dispatch_loses_no_reminder(
        telegram_emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    telegram_emulator.limit_per_second = 20
    _due_reminders()
    rng = random.Random(7)
    held_chats = []
    for _ in range(KILLS):
        hold = telegram_emulator.hold_next("sendMessage", after=rng.randint(0, 8),
                                          text="💊 Time for your")
        process = _scheduler(tmp_path)
        try:
            assert hold.arrived.wait(timeout=30), "no reminder was sent"
            assert process.poll() is None, "the scheduler ended by itself"
        finally:
            process.send_signal(signal.SIGKILL)  # while the Bot API holds that send
            process.wait()
            hold.release()  # Telegram carries it out; its answer finds nobody
        chat_id = str(hold.params["chat_id"])
        # The kill landed mid-send: the reminder reached the Bot API, but the outbox never
        # heard back and still has it to send.
        assert _status(chat_id) == OutboxStatus.pending
        telegram_emulator.wait_for_text(int(chat_id), str(hold.params["text"]))
        held_chats.append(int(chat_id))
    process = _scheduler(tmp_path)
    try:
        deadline = time.monotonic() + 60
        while _pending() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    reminders = [m for m in telegram_emulator.sent if m.text.startswith("💊 Time for your")]
    per_chat = Counter(m.chat_id for m in reminders)  # (advice may come too: not counted)
    assert len(per_chat) == PATIENTS, (tmp_path / "scheduler.log").read_text()[-3000:]
    # Each reminder in flight at a kill was sent again after the restart: at-least-once.
    assert all(per_chat[chat] >= 2 for chat in held_chats)
    duplicates = sum(count - 1 for count in per_chat.values())
    assert duplicates <= KILLS, f"{duplicates} duplicates after {KILLS} kills"
    assert telegram_emulator.too_many_requests == 0
