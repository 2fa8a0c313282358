"""A burst of reminders through several scheduler workers and senders (real processes) on
one PostgreSQL and one Redis, for tests/integration/test_scale_out.py and
bench/scale_out.py: seeding in bulk, the fleet of processes, and what the Bot API
emulator saw."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import func, insert, select, text
from sqlmodel import col

from assistant.storage.db import make_engine, utcnow
from assistant.storage.models import (
    CareTeam,
    ChatLink,
    DoseOccurrence,
    DoseSchedule,
    Medication,
    OutboxMessage,
    OutboxStatus,
    Patient,
)
from tests.telegram_emulator import Emulator, Sent

FIRST_CHAT = 100_000
REPO = Path(__file__).resolve().parent.parent


def seed_patients(url: str, chats: int, per_chat: int) -> None:
    """`chats` linked patients with `per_chat` daily medications each, planned far ahead
    (the planner adds nothing): their doses come with `make_due`."""
    now = utcnow()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(CareTeam), [{"id": 1, "name": "Scale", "created_at": now,
                                          "on_call": [], "reading_thresholds": {},
                                          "missed_alert_after": 2, "self_shift_minutes": 0,
                                          "escalate_after_minutes": 15, "timezone": "UTC"}])
        conn.execute(insert(Patient), [
            {"id": n + 1, "team_id": 1, "chat_ref": f"{n:032x}", "display_name": f"P{n}",
             "timezone": "UTC", "language": "en", "status": "active", "conditions": [],
             "goals": [], "advice_per_day": 0, "advice_time": None, "created_at": now}
            for n in range(chats)])
        conn.execute(insert(ChatLink), [
            {"patient_id": n + 1, "channel": "telegram", "chat_id": str(FIRST_CHAT + n),
             "linked_at": now} for n in range(chats)])
        meds = [{"id": n * per_chat + m + 1, "patient_id": n + 1, "name": f"Med{m}",
                 "strength": "10 mg", "dose": "1 tablet", "active": True, "created_at": now}
                for n in range(chats) for m in range(per_chat)]
        conn.execute(insert(Medication), meds)
        conn.execute(insert(DoseSchedule), [
            {"id": med["id"], "medication_id": med["id"], "times_of_day": ["23:59"],
             "every_n_days": 1, "start_date": date(2020, 1, 1), "as_needed": False,
             "active": True, "updated_at": now, "planned_until": now + timedelta(days=30)}
            for med in meds])
        for table in ("patients", "medications", "dose_schedules", "care_teams"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    engine.dispose()


def make_due(url: str, chats: int, per_chat: int, due: datetime) -> None:
    """Every medication's dose due at `due`, in one transaction: a chat's doses side by
    side, so that its one message a second binds too."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(DoseOccurrence), [
            {"schedule_id": n * per_chat + m + 1, "medication_id": n * per_chat + m + 1,
             "patient_id": n + 1, "due_at": due, "status": "planned", "reminders_sent": 0}
            for n in range(chats) for m in range(per_chat)])
    engine.dispose()


def unsent(url: str) -> int:
    """Reminders queued and not yet recorded as sent (their doses not yet queued aside)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        planned = conn.execute(select(func.count()).select_from(DoseOccurrence).where(
            DoseOccurrence.status == "planned")).scalar_one()
        pending = conn.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.pending)).scalar_one()
    engine.dispose()
    return int(planned + pending)


def queued(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    engine.dispose()
    return int(found)


def occurrence_of(message: Sent) -> int | None:
    """The dose a reminder is about, from its buttons' data (`dose:ID:taken`)."""
    for _, data in message.buttons:
        if data.startswith("dose:"):
            return int(data.split(":")[1])
    return None


def reminders(emulator: Emulator) -> Counter[int]:
    """How many times each dose's reminder reached the emulator."""
    return Counter(occ for m in list(emulator.sent) if (occ := occurrence_of(m)) is not None)


def busiest_second(sent: list[Sent]) -> int:
    """The most messages the emulator let through within any one second."""
    times, most, first = sorted(m.accepted for m in sent), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def closest_in_a_chat(sent: list[Sent]) -> float:
    """The shortest time between two messages to one chat (seconds; inf when none)."""
    by_chat: dict[int, list[float]] = defaultdict(list)
    for m in sent:
        by_chat[m.chat_id].append(m.accepted)
    gaps = [b - a for times in by_chat.values() for a, b in zip(sorted(times), sorted(times)[1:],
                                                                  strict=False)]
    return min(gaps, default=float("inf"))


class Fleet:
    """`careloop run --only ROLE` processes, each with its log file; all stopped on exit
    (SIGTERM, then SIGKILL), however the test ends."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env = logs, env
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self._own: dict[str, dict[str, str]] = {}  # each process's own settings
        self._files: list[IO[bytes]] = []

    def start(self, name: str, role: str, env: dict[str, str] | None = None) -> None:
        """Start (or start again, with the settings it had) the process `name`."""
        own = self._own.setdefault(name, env or {})
        self.logs.mkdir(parents=True, exist_ok=True)
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed on exit
        self._files.append(out)
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", "assistant", "run", "--only", role], cwd=REPO,
            env={**os.environ, **self.env, **own}, stdout=out, stderr=subprocess.STDOUT)

    def wait_started(self, timeout: float = 60) -> None:
        """Until every process has said it started (its log's "started" line)."""
        deadline = time.monotonic() + timeout
        for name, process in self.running.items():
            while "started" not in self.log(name):
                assert process.poll() is None, f"{name} exited:\n{self.log(name)[-2000:]}"
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.1)

    def kill(self, name: str) -> None:
        self.running[name].send_signal(signal.SIGKILL)
        self.running[name].wait()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for out in self._files:
            out.close()


@dataclass
class Act:
    """What one patient did through the bridges, and when (monotonic)."""

    chat: int
    at: float
    reminder: Sent           # the reminder whose Taken was pressed
    query: str               # the press's callback query id
    sticker: bool            # a sticker sent too (answered with a message, no Rasa)


class Patients:
    """During a burst, every `every` seconds a patient whose first reminder has just arrived
    presses its Taken button, and every other one sends a sticker as well (their other
    reminders are still to come: the sticker's answer competes with them). Through the
    emulator's webhook, so through the balancer and the bridges. Run in a thread until
    `stop()`."""

    def __init__(self, emulator: Emulator, every: float) -> None:
        self.emulator, self.every = emulator, every
        self.acts: list[Act] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        done, looked = set[int](), 0
        while not self._stop.wait(self.every):
            sent = list(self.emulator.sent)
            fresh = [m for m in sent[looked:] if m.chat_id not in done and taken_data(m)]
            looked = len(sent)
            if not fresh:
                continue
            reminder = fresh[-1]  # the newest: its chat's others are the likeliest to wait
            done.add(reminder.chat_id)
            sticker = len(self.acts) % 2 == 1
            at = time.monotonic()
            query = self.emulator.inject_callback(reminder.chat_id, reminder,
                                                  taken_data(reminder))
            if sticker:
                self.emulator.inject_sticker(reminder.chat_id)
            self.acts.append(Act(reminder.chat_id, at, reminder, query, sticker))

    def __enter__(self) -> Patients:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def taken_data(message: Sent) -> str:
    """The data of the reminder's Taken button ("" when it has none)."""
    return next((data for _, data in message.buttons
                 if data.startswith("dose:") and data.endswith(":taken")), "")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def taken(url: str, occurrences: list[int | None]) -> int:
    """How many of these doses are recorded taken, by a button."""
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(select(func.count()).select_from(DoseOccurrence).where(
            col(DoseOccurrence.id).in_([o for o in occurrences if o is not None]),
            DoseOccurrence.status == "taken",
            DoseOccurrence.outcome_source == "button")).scalar_one()
    engine.dispose()
    return int(found)
