"""Fault injection: the whole stack, SIGKILLed a process at a time and its database
stopped, while patients chat and reminders come due.

`careloop run` serves the Bot API emulator from a private PostgreSQL server of the
test's own (Rasa's tracker store lives there too): "the database unavailable" is that
server stopped (`pg_ctl stop -m fast`: connections cut, port closed) for 15 s and
started again. Seven patients in as many time zones enrol through the emulator while
Rasa loads; each has a medication due at each of the next minutes (the scheduler ticks
every second; a killed scheduler's claims expire after 15 s). Six of them write, wait
for the answer, think 1-4 s (a load pattern, not a wait) and write again: blood
pressure readings, whose answer repeats the values, and "what do I take today?", whose
answer names the medication; they press "Taken" on about half their reminders. The
care team's API is read and written all along (lists, doses, a reading).

The faults, in turn, each once the one before is over (the killed process started
again by `careloop run` and healthy), each when work is in flight:
* the scheduler, while the emulator holds one of its reminder sends (released after
  the kill, it reaches the patient though the scheduler never learnt so: the one
  duplicate a kill may cost);
* the action server, while a patient waits for an answer;
* the bridge, while a message Telegram has given it has no answer yet;
* the web app, while an API request is being answered;
* the database, from 5 s before a minute with doses due, while patients write and the
  seventh patient writes of an emergency; then every patient must get a real answer
  again (Rasa's tracker store and every service back on the database);
* Rasa, while a patient waits for an answer (last: it takes longest to come back).

What it asserts, from the emulator's record and the database:
* no reminder lost: every dose due by the end reached its patient (the grace period is
  the default hour, so none may be missed for lateness);
* at most one duplicate reminder (the same dose's reminder delivered twice) per kill;
* every patient message answered: with its real answer, or, for a message sent while
  Rasa, the action server or the database was down (or within 10 s after), the fallback
  with the emergency line; the emergency got the guidance at once, and its alert once
  the database was back;
* every reminder a patient pressed "Taken" on is recorded as taken;
* the API never answers 500: 503 with Retry-After only while the database is down, and
  every reading it accepted is stored;
* no log line carries what a patient wrote (nor the bot's token), and stopping
  `careloop run` stops every service, restarted ones too.

The figures line (kills, messages, reminders, lost, duplicated, ...) is printed; `-s`
shows it. About 3 to 4 minutes, most of it Rasa starting twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import col, select

from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import enrolment, medications, patients, teams
from assistant.services.sessions import issue_token
from assistant.storage.db import session
from assistant.storage.models import Alert, AlertKind, DoseOccurrence, DoseStatus, Reading, Role
from tests.conftest import REPO, PrivatePostgres, free_port
from tests.processes import Terminal, command_line, descendants, still_alive
from tests.telegram_emulator import Emulator, Hold, Sent
from tests.telegram_fixtures import TOKEN

pytestmark = pytest.mark.rasa

# One patient per zone; the last only writes of an emergency while the database is down.
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Adelaide",
         "America/Sao_Paulo", "Europe/London"]
FIRST_CHAT = 9100
DOSE_MINUTES = 8  # a dose at each of the next minutes (at most 12 times a day)
OUTAGE_SECONDS = 15
FALLBACK = "If this is an emergency, call 112 now"
EMERGENCY = "This may be an emergency. Call 112 now"
RECOVERY_SECONDS = 10  # after a fault ends, the fallback is still fair this long
ANSWER_SECONDS = 150  # a held message waits up to 90 s for Rasa to be back
# How to find each service among `careloop run`'s children (their command lines).
COMMANDS = {"rasa": "rasa_components.launcher", "actions": "actions.server",
            "scheduler": "--only scheduler", "bridge": "--only bridge",
            "web": "assistant.interfaces.web.app:server_app"}


# --- the stack -----------------------------------------------------------------------------

class CareloopRun:
    """`careloop run`, its children and the log lines it prints."""

    def __init__(self, env: dict[str, str]) -> None:
        self.terminal = Terminal(subprocess.Popen(
            [sys.executable, "-m", "assistant", "run"], cwd=REPO, text=True,
            env={**os.environ, **env}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT))

    def child(self, name: str) -> int:
        """The pid of the service's process (a child of `careloop run`)."""
        for pid in descendants(self.terminal.process.pid):
            if COMMANDS[name] in command_line(pid) and _parent(pid) == self.terminal.process.pid:
                return pid
        raise AssertionError(f"no {name} process under careloop run")

    def wait_for(self, *words: str, timeout: float, count: int = 1) -> str:
        return self.terminal.wait_for(*words, timeout=timeout, count=count)

    def stop(self) -> None:
        if self.terminal.process.poll() is None:
            self.terminal.process.kill()
            self.terminal.process.wait()


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Window:
    """A fault: what was down, from when until it was back."""

    what: str
    start: float
    end: float = float("inf")

    def covers(self, start: float, end: float, slack: float = 0.0) -> bool:
        return start <= self.end + slack and end >= self.start


# --- the patients --------------------------------------------------------------------------

@dataclass
class Said:
    chat: int
    text: str
    expect: str  # what the real answer contains
    at: float
    update_id: int
    answer: str | None = None
    answered_at: float | None = None


def _is_reminder(message: Sent) -> bool:
    return any(data.startswith("dose:") for _, data in message.buttons)


class Patient(threading.Thread):
    """Writes, waits for the answer, thinks a little, writes again; presses ✅ Taken on
    every other reminder."""

    def __init__(self, telegram: Emulator, chat: int, rng: random.Random,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.telegram, self.chat, self.rng, self.stop = telegram, chat, rng, stop
        self.said: list[Said] = []
        self.pressed: list[int] = []  # occurrences answered with ✅ Taken
        self.reminders_seen = 0
        self.error: BaseException | None = None
        self._readings = iter(rng.sample([(s, d) for s in range(106, 130)
                                          for d in range(66, 80)], 300))

    def _choose(self) -> tuple[str, str]:
        if self.rng.random() < 0.3:
            return self.rng.choice(["what do I take today?", "/today"]), "Aspirin 100 mg"
        systolic, diastolic = next(self._readings)
        return f"my bp is {systolic}/{diastolic}", f"{systolic}/{diastolic}"

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self._answer_reminders()
                self.say(*self._choose())
                self.stop.wait(self.rng.uniform(1.0, 4.0))
        except BaseException as exc:  # reported by the test
            self.error = exc

    def say(self, text: str, expect: str) -> None:
        """Write `text` and wait for its answer: the real one (`expect` in it) or the
        fallback."""
        before = len(self.telegram.messages_to(self.chat))
        said = Said(self.chat, text, expect, time.time(),
                    self.telegram.inject_text(self.chat, text))
        self.said.append(said)
        deadline = time.monotonic() + ANSWER_SECONDS
        while time.monotonic() < deadline:
            for message in self.telegram.messages_to(self.chat)[before:]:
                if not _is_reminder(message) and (expect in message.text
                                                  or FALLBACK in message.text):
                    said.answer, said.answered_at = message.text, message.at
                    return
            time.sleep(0.05)

    def _answer_reminders(self) -> None:
        reminders = [m for m in self.telegram.messages_to(self.chat) if _is_reminder(m)]
        for message in reminders[self.reminders_seen:]:
            occurrence = int(message.buttons[0][1].split(":")[1])
            if occurrence % 2 == 0 and occurrence not in self.pressed:
                self.pressed.append(occurrence)
                self.telegram.inject_callback(self.chat, message, message.buttons[0][1])
        self.reminders_seen = len(reminders)


def _enrol(telegram: Emulator, chat: int, code: str) -> None:
    telegram.inject_text(chat, f"/start {code}")
    notice = telegram.wait_for_text(chat, "not a medical device", timeout=120)
    telegram.inject_callback(chat, notice, notice.buttons[0][1])
    telegram.wait_for_text(chat, "all set", timeout=60)


def _add_patients(telegram: Emulator) -> tuple[list[int], str]:
    """The patients (one per zone), enrolled; and an API token of their care team."""
    with session() as db:
        team = teams.add_team(db, name="Faults", actor="test")
        member = teams.add_member(db, team=team, name="Nurse", email="nurse@faults.example",
                                  role=Role.admin, password_hash=None, actor="test")
        token = issue_token(db, member, name="faults", actor="test")
        codes = {}
        for n, zone in enumerate(ZONES):
            patient = patients.add_patient(db, team=team, name=f"P{n}", timezone=zone,
                                           actor="test")
            codes[FIRST_CHAT + n] = (patient.id, enrolment.issue_code(
                db, patient=patient, actor="test", hours=1).code)
    for chat, (_, code) in codes.items():
        _enrol(telegram, chat, code)
    return [patient_id for patient_id, _ in codes.values()], token


def _add_doses(patient_ids: list[int], first: datetime) -> None:
    """A medication due at `first` and each of the following minutes, in each patient's
    own time zone."""
    with session() as db:
        for patient_id in patient_ids:
            patient = patients.get_patient(db, patient_id)
            zone = ZoneInfo(patient.timezone)
            times = tuple(sorted({f"{(first + timedelta(minutes=m)).astimezone(zone):%H:%M}"
                                  for m in range(DOSE_MINUTES)}))
            medications.add_medication(db, patient=patient, name="Aspirin", strength="100 mg",
                                       schedule=ScheduleSpec(times=times), actor="test")


# --- the care team's API -------------------------------------------------------------------

@dataclass
class Call:
    at: float
    what: str
    status: int  # 0: no connection (the web app down)


@dataclass(eq=False)  # a thread: hashable by identity
class ApiPoller(threading.Thread):
    """Reads and writes through the REST API all along; remembers every answer's status."""

    base: str
    token: str
    patient_ids: list[int]
    stop: threading.Event
    calls: list[Call] = field(default_factory=list)
    in_flight: threading.Event = field(default_factory=threading.Event)
    retry_after_missing: int = 0
    accepted: int = 0  # readings it was told were stored (201)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)

    def run(self) -> None:
        rng = random.Random(3)
        with httpx.Client(base_url=self.base, timeout=30,
                          headers={"Authorization": f"Bearer {self.token}"}) as api:
            while not self.stop.is_set():
                patient = rng.choice(self.patient_ids)
                for method, path, body in [
                        ("GET", "/api/v1/patients", None),
                        ("GET", "/api/v1/alerts", None),
                        ("GET", f"/api/v1/patients/{patient}/doses", None),
                        ("POST", f"/api/v1/patients/{patient}/readings",
                         {"kind": "weight", "value": round(rng.uniform(60, 90), 1)})]:
                    self.in_flight.set()
                    try:
                        answer = api.request(method, path, json=body)
                        status = answer.status_code
                        self.accepted += method == "POST" and status == 201
                        if status == 503 and "retry-after" not in answer.headers:
                            self.retry_after_missing += 1
                    except httpx.TransportError:
                        status = 0
                    finally:
                        self.in_flight.clear()
                    self.calls.append(Call(time.time(), f"{method} {path}", status))
                self.stop.wait(0.2)


# --- the test --------------------------------------------------------------------------

def _wait(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _next_minute(after: datetime) -> datetime:
    return (after + timedelta(minutes=1)).replace(second=0, microsecond=0)


def test_killing_each_process_and_stopping_the_database_loses_nothing(
        trained_model: Path, tmp_path: Path, telegram_emulator: Emulator,
        own_postgres: PrivatePostgres) -> None:
    telegram = telegram_emulator
    models = tmp_path / "var" / "models"  # the tests' model, not trained again
    models.mkdir(parents=True)
    (models / trained_model.name).symlink_to(trained_model)
    web_port = free_port()
    stack = CareloopRun({"CARELOOP_RASA_URL": f"http://127.0.0.1:{free_port()}",
                   "CARELOOP_ACTION_PORT": str(free_port()), "CARELOOP_WEB_PORT": str(web_port),
                   "CARELOOP_SCHEDULER_TICK_SECONDS": "1",
                   # a claim left by a killed scheduler is retried after this
                   "CARELOOP_OUTBOX_LEASE_SECONDS": "15"})
    stop = threading.Event()
    rng = random.Random(14)
    chats: list[Patient] = []
    windows: list[Window] = []
    started = time.monotonic()
    try:
        # While Rasa loads, the patients enrol (the bridge needs no Rasa for that).
        patient_ids, token = _add_patients(telegram)
        stack.wait_for("ready:", timeout=300)
        first = _next_minute(datetime.now(UTC) + timedelta(seconds=5))
        _add_doses(patient_ids, first)
        *chats, quiet = [Patient(telegram, FIRST_CHAT + n, random.Random(rng.random()), stop)
                         for n in range(len(patient_ids))]
        poller = ApiPoller(f"http://127.0.0.1:{web_port}", token, patient_ids, stop)
        for thread in [*chats, poller]:
            thread.start()

        def waiting() -> bool:
            return any(s.answer is None for chat in chats for s in chat.said[-1:])

        def kill(name: str) -> Window:
            pid = stack.child(name)
            window = Window(name, time.time())
            windows.append(window)
            os.kill(pid, signal.SIGKILL)
            stack.wait_for(f"{name} exited (SIGKILL)", timeout=30,
                           count=sum(w.what == name for w in windows))
            return window

        # The scheduler, while the emulator holds one of its reminders in flight.
        held: Hold = telegram.hold_next("sendMessage", text="💊", stall=False)
        assert held.arrived.wait(timeout=90), "no reminder was sent"
        window = kill("scheduler")
        held.release()  # Telegram got it: the scheduler never knew
        stack.wait_for("assistant.scheduling.service: scheduler started (", timeout=60, count=2)
        window.end = time.time()

        # The action server, while a patient waits for an answer.
        _wait(waiting, "a patient waits for an answer", timeout=30)
        window = kill("actions")
        stack.wait_for("actions is up again", timeout=60)
        window.end = time.time()

        # The bridge, while a message Telegram gave it has no answer yet.
        def in_hand() -> bool:
            return any(s.answer is None and s.update_id <= telegram.handed_out
                       for chat in chats for s in chat.said[-1:])

        _wait(in_hand, "the bridge has a message it has not answered", 60)
        window = kill("bridge")
        stack.wait_for("bridge: bridge started (", timeout=60, count=2)
        window.end = time.time()

        # The web app, while it answers an API request.
        _wait(poller.in_flight.is_set, "an API request is in flight", 30)
        window = kill("web")
        stack.wait_for("web is up again", timeout=60)
        window.end = time.time()

        # The database, across a minute with doses due, while patients write; one of an
        # emergency.
        due = _next_minute(datetime.now(UTC) + timedelta(seconds=6))
        _wait(lambda: datetime.now(UTC) >= due - timedelta(seconds=5), "5 s before a dose",
              timeout=70)
        window = Window("database", time.time())
        windows.append(window)
        own_postgres.stop()
        emergency = threading.Thread(target=quiet.say, args=(
            "my chest feels heavy, like an elephant is sitting on it", EMERGENCY))
        emergency.start()
        _wait(lambda: time.time() >= window.start + OUTAGE_SECONDS, "the outage's end",
              timeout=OUTAGE_SECONDS + 5)
        own_postgres.start()
        window.end = time.time()
        # Back to normal: each patient gets a real answer to a message sent after it.
        _wait(lambda: all(any(s.at > window.end and s.answer and s.expect in s.answer
                              for s in chat.said) for chat in chats),
              "every patient has a real answer again", timeout=120)

        # Rasa, while a patient waits for an answer.
        _wait(waiting, "a patient waits for an answer", timeout=30)
        window = kill("rasa")
        stack.wait_for("rasa is up again", timeout=240)
        window.end = time.time()

        # Every dose due until now reaches its patient (a killed scheduler's claim
        # expires after its lease); then the patients stop writing.
        cutoff = datetime.now(UTC)
        with session() as db:
            due_ids = set(db.exec(select(DoseOccurrence.id).where(
                col(DoseOccurrence.due_at) <= cutoff)).all())
        _wait(lambda: due_ids <= set(_deliveries(telegram)), "every due reminder arrived", 60)
        stop.set()
        for thread in [*chats, poller, emergency]:
            thread.join(timeout=ANSWER_SECONDS + 30)
        _wait(lambda: _taken([o for chat in chats for o in chat.pressed]),
              "every ✅ Taken pressed is recorded", timeout=60)
        # Stopped, `careloop run` stops every service (restarted ones too).
        children = [stack.child(name) for name in COMMANDS]
        stack.terminal.process.send_signal(signal.SIGTERM)
        assert stack.terminal.process.wait(timeout=60) == 0
        assert still_alive(children, timeout=5) == []
        # No patient's words in any log line (nor the bot's token).
        shown = stack.terminal.output(timeout=0)
        leaked = {s.text for chat in [*chats, quiet] for s in chat.said if s.text in shown}
        assert not leaked and TOKEN not in shown, leaked
        _check(telegram, [*chats, quiet], poller, windows, due_ids, patient_ids[-1],
               elapsed=time.monotonic() - started)
    finally:
        stop.set()
        stack.stop()
        log = tmp_path / "careloop-run.log"  # what `careloop run` printed, for a failure
        log.write_text(stack.terminal.output(timeout=0))
        print(f"careloop run's output: {log}")


def _taken(occurrences: list[int]) -> bool:
    with session() as db:
        return all(db.exec(select(DoseOccurrence.status).where(
            DoseOccurrence.id == o)).one() == DoseStatus.taken for o in occurrences)


def _deliveries(telegram: Emulator) -> Counter[int]:
    """How many times each dose's reminder reached its patient."""
    return Counter(int(m.buttons[0][1].split(":")[1]) for m in telegram.sent
                   if _is_reminder(m) and m.text.startswith("💊"))


def _check(telegram: Emulator, chats: list[Patient], poller: ApiPoller,
           windows: list[Window], ids: set[int], quiet_patient: int, elapsed: float) -> None:
    for chat in chats:
        assert chat.error is None, chat.error
    deliveries = _deliveries(telegram)
    lost = sorted(ids - set(deliveries))
    duplicated = sum(count - 1 for occ, count in deliveries.items() if occ in ids)
    kills = sum(w.what != "database" for w in windows)

    said = [s for chat in chats for s in chat.said]
    unanswered = [s for s in said if s.answer is None]
    fallbacks = [s for s in said if s.answer is not None and s.expect not in s.answer]
    engine_down = [w for w in windows if w.what in ("rasa", "actions", "database")]
    unfair = [s for s in fallbacks
              if not any(w.covers(s.at, s.answered_at or s.at, RECOVERY_SECONDS)
                         for w in engine_down)]
    outage = [w for w in windows if w.what == "database"]
    web_down = [w for w in windows if w.what == "web"]
    refused_outside = [c for c in poller.calls if c.status == 0 and not any(
        w.covers(c.at, c.at, RECOVERY_SECONDS) for w in web_down)]
    errors = [c for c in poller.calls if c.status >= 500 and c.status != 503]
    busy = [c for c in poller.calls if c.status == 503]
    busy_outside = [c for c in busy if not any(w.covers(c.at, c.at, RECOVERY_SECONDS)
                                               for w in outage)]
    with session() as db:
        emergencies = db.exec(select(Alert.patient_id).where(
            Alert.kind == AlertKind.emergency)).all()
        stored = len(db.exec(select(Reading.id).where(Reading.source == "api")).all())
        pressed = [o for chat in chats for o in chat.pressed]
    print(f"\nfaults: kills={kills} database_outage={OUTAGE_SECONDS}s "
          f"messages={len(said)} answered={len(said) - len(unanswered)} "
          f"fallbacks={len(fallbacks)} reminders={len(ids)} "
          f"delivered={sum(deliveries[i] for i in ids)} lost={len(lost)} "
          f"duplicated={duplicated} taken_pressed={len(pressed)} "
          f"api_calls={len(poller.calls)} api_503={len(busy)} api_500={len(errors)} "
          f"seconds={elapsed:.0f}")
    for window in windows:
        print(f"  {window.what}: down {window.end - window.start:.1f} s from "
              f"{datetime.fromtimestamp(window.start, UTC):%H:%M:%S}")
    assert not lost, f"reminders lost for doses {lost}"
    assert duplicated <= kills
    assert not unanswered, [(s.chat, s.text, time.strftime('%X', time.localtime(s.at)))
                            for s in unanswered]
    assert not unfair, [(s.text, s.answer) for s in unfair]
    assert all(FALLBACK in s.answer for s in fallbacks if s.answer)
    assert not errors, [(c.what, c.status) for c in errors]
    assert not busy_outside, [(c.what, c.at) for c in busy_outside]
    assert not refused_outside, [(c.what, c.at) for c in refused_outside]
    assert poller.retry_after_missing == 0
    # What the API said it stored, it stored (a write cut off with the web app may be).
    cut_off = sum(c.status == 0 and c.what.startswith("POST") for c in poller.calls)
    assert poller.accepted <= stored <= poller.accepted + cut_off
    # The emergency written while the database was down: the guidance at once, the alert
    # once the database was back.
    [written] = chats[-1].said
    assert written.answered_at is not None and written.answered_at - written.at < 5
    assert emergencies == [quiet_patient]
