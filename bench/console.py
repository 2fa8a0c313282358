"""Benchmark: how fast the care team's console answers on a big ward.

Seeds, with bulk SQL inserts into a fresh SQLite database, a ward of 2,000 patients (two
medications each, a month of dose occurrences and a week ahead, a month of blood pressure
and glucose readings) and 10,000 alerts (open, acknowledged and resolved, of every kind);
and, in another fresh database, an empty ward of one patient (the baseline). Then serves
the console in-process (Starlette's TestClient), logs in as the ward's admin and prints
p50/p95 of the patient list, the alerts page and one patient's page for each ward, and
the ratio. Target: each page ≤ 200 ms at 2,000 patients and 10,000 alerts.

    .venv/bin/python -m bench.console [--patients 2000] [--alerts 10000] [--requests 20]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, insert, text

from assistant.config import Settings, get_settings
from assistant.interfaces.web.app import server_app
from assistant.services import accounts, teams
from assistant.storage.db import get_engine, session
from assistant.storage.migrate import upgrade
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Medication,
    Patient,
    Reading,
    Role,
)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PASSWORD = "bench console horse battery"
EMAIL = "admin@bench.example"
TARGET_MS = 200.0
DAYS = 30
WARM_UP = 2
MIN_REQUESTS, BUDGET_SECONDS = 5, 60.0  # per page: a page of seconds still ends
PAGES = ("patient list", "alerts page", "patient page")
MEDS = (("Metformin", "500 mg", ("08:00", "20:00")), ("Amlodipine", "5 mg", ("08:00",)))
KINDS = (AlertKind.reading, AlertKind.missed_doses, AlertKind.symptom, AlertKind.question,
         AlertKind.trend, AlertKind.refill, AlertKind.emergency)


@dataclass(frozen=True)
class Timing:
    p50: float
    p95: float
    count: int


def _bulk(engine: Engine, table: Any, rows: list[dict[str, Any]], chunk: int = 20_000) -> None:
    with engine.begin() as conn:
        for start in range(0, len(rows), chunk):
            conn.execute(insert(table), rows[start:start + chunk])


def _patients(engine: Engine, team_id: int, count: int, now: datetime,
              rng: random.Random) -> list[int]:
    _bulk(engine, Patient, [{
        "team_id": team_id, "chat_ref": f"bench{team_id}x{n}", "display_name": f"Patient {n:04d}",
        "birth_date": date(1940 + n % 50, 1 + n % 12, 1 + n % 28), "timezone": "Europe/London",
        "language": "en", "status": "active", "conditions": ["diabetes"], "goals": [],
        "advice_time": "10:00", "advice_per_day": 1, "created_at": now - timedelta(days=60),
        "last_contact_at": now - timedelta(hours=rng.randint(1, 200))} for n in range(count)])
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM patients WHERE team_id = :team "
                                      "ORDER BY id"), {"team": team_id}).scalars())


def _medications(engine: Engine, pids: list[int], now: datetime, rng: random.Random) -> None:
    """Two medications a patient, each with a schedule and its dose occurrences."""
    start = (now - timedelta(days=DAYS)).date()
    _bulk(engine, Medication, [{"patient_id": pid, "name": name, "strength": strength,
                                "dose": "1 tablet", "instructions": "", "purpose": "",
                                "missed_dose_instructions": "", "active": True,
                                "created_at": now - timedelta(days=DAYS + 1)}
                               for pid in pids for name, strength, _ in MEDS])
    with engine.connect() as conn:
        meds = conn.execute(text("SELECT id, patient_id, name FROM medications WHERE "
                                 "patient_id BETWEEN :low AND :high"),
                            {"low": pids[0], "high": pids[-1]}).all()
    times = {name: at for name, _, at in MEDS}
    _bulk(engine, DoseSchedule, [{"medication_id": m.id, "times_of_day": list(times[m.name]),
                                  "days_of_week": None, "every_n_days": 1, "start_date": start,
                                  "as_needed": False, "active": True, "updated_at": now,
                                  "planned_until": now + timedelta(days=7)} for m in meds])
    with engine.connect() as conn:
        schedule_of = {row.medication_id: row.id for row in conn.execute(text(
            "SELECT medication_id, id FROM dose_schedules"))}
    rows = []
    for m in meds:
        adherence = rng.choice((0.3, 0.6, 0.85, 0.95, 1.0))
        for day in range(DAYS + 7):
            for at in times[m.name]:
                hour, minute = map(int, at.split(":"))
                due = datetime.combine(start + timedelta(days=day), datetime.min.time(),
                                       tzinfo=UTC).replace(hour=hour, minute=minute)
                past = due < now - timedelta(hours=1)
                taken = rng.random() < adherence
                status = (DoseStatus.taken if taken else DoseStatus.missed) if past else \
                    DoseStatus.planned
                rows.append({"schedule_id": schedule_of[m.id], "medication_id": m.id,
                             "patient_id": m.patient_id, "due_at": due, "status": status,
                             "reminders_sent": 1 if past else 0,
                             "sent_at": due if past else None,
                             "outcome_at": due + timedelta(minutes=20) if past else None,
                             "outcome_source": "button" if past and taken else None})
    _bulk(engine, DoseOccurrence, rows)


def _readings(engine: Engine, pids: list[int], now: datetime, rng: random.Random) -> None:
    rows = []
    for pid in pids:
        for day in range(DAYS):
            at = now - timedelta(days=DAYS - day, hours=rng.uniform(0, 3))
            rows.append({"patient_id": pid, "kind": "blood_pressure", "code": "85354-9",
                         "value": rng.gauss(135, 12), "value2": rng.gauss(84, 8),
                         "unit": "mmHg", "taken_at": at, "received_at": at, "source": "api"})
            rows.append({"patient_id": pid, "kind": "glucose", "code": "15074-8",
                         "value": rng.gauss(7, 1.5), "value2": None, "unit": "mmol/L",
                         "taken_at": at + timedelta(hours=2),
                         "received_at": at + timedelta(hours=2), "source": "api"})
    _bulk(engine, Reading, rows)


def _alerts(engine: Engine, team_id: int, pids: list[int], count: int, now: datetime,
            rng: random.Random) -> None:
    rows = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        status = rng.choices((AlertStatus.open, AlertStatus.acknowledged, AlertStatus.resolved),
                             (4, 2, 4))[0]
        created = now - timedelta(hours=rng.uniform(0, 24 * DAYS))
        severity = AlertSeverity.urgent if kind == AlertKind.emergency or n % 23 == 0 else \
            rng.choice((AlertSeverity.high, AlertSeverity.normal))
        rows.append({"patient_id": rng.choice(pids), "team_id": team_id, "kind": kind,
                     "severity": severity, "summary": f"{kind.value.replace('_', ' ')} #{n}",
                     "status": status, "created_at": created,
                     "acknowledged_at": created + timedelta(hours=1)
                     if status != AlertStatus.open else None,
                     "resolved_at": created + timedelta(hours=5)
                     if status == AlertStatus.resolved else None,
                     "resolution_note": "called the patient"
                     if status == AlertStatus.resolved else None,
                     "measure": "glucose" if kind in (AlertKind.reading, AlertKind.trend) else None,
                     "direction": "high" if kind in (AlertKind.reading, AlertKind.trend) else None,
                     "evidence_at": created})
    _bulk(engine, Alert, rows)


def seed(patients: int, alerts: int, password_hash: str) -> int:
    """The ward in the application's database; the id of its first (busiest) patient."""
    rng, now, engine = random.Random(15), datetime.now(UTC), get_engine()
    with session() as db:
        team = teams.add_team(db, name="Bench ward", actor="bench")
        teams.add_member(db, team=team, name="Bench Admin", email=EMAIL, role=Role.admin,
                         password_hash=password_hash, actor="bench")
        team_id = team.id
    pids = _patients(engine, team_id, patients, now, rng)
    _medications(engine, pids, now, rng)
    _readings(engine, pids, now, rng)
    _alerts(engine, team_id, pids, alerts, now, rng)
    return pids[0]


def _log_in(client: TestClient) -> None:
    page = client.get("/login").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token on the login page"
    answer = client.post("/login", data={"email": EMAIL, "password": PASSWORD,
                                         "csrf": found.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, f"login failed: {answer.status_code}"


def _time(client: TestClient, path: str, requests: int) -> Timing:
    """p50/p95 of `requests` answers after a warm-up; a page slower than the budget allows
    stops after MIN_REQUESTS (the figures then say how many there were)."""
    for _ in range(WARM_UP):
        client.get(path)
    timings: list[float] = []
    deadline = time.monotonic() + BUDGET_SECONDS
    while len(timings) < requests and (len(timings) < MIN_REQUESTS
                                       or time.monotonic() < deadline):
        started = time.perf_counter()
        answer = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, f"{path}: {answer.status_code}"
    q = statistics.quantiles(timings, n=20, method="inclusive")
    return Timing(statistics.median(timings), q[18], len(timings))


def measure(folder: Path, name: str, patients: int, alerts: int, requests: int,
            password_hash: str) -> dict[str, Timing]:
    """A fresh database in `folder`, seeded, then each page timed."""
    url = f"sqlite:///{folder / f'{name}.db'}"
    os.environ.update(CARELOOP_DATABASE_URL=url, CARELOOP_DATA_DIR=str(folder / "var"))
    get_settings.cache_clear()
    upgrade(Settings().db_url)
    started = time.perf_counter()
    pid = seed(patients, alerts, password_hash)
    print(f"{name}: {patients} patients, {alerts} alerts seeded in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # after the filter: it warns on import

    found = {}
    with TestClient(server_app(), base_url="http://127.0.0.1") as client:
        _log_in(client)
        paths = dict(zip(PAGES, ("/patients", "/alerts", f"/patients/{pid}"), strict=True))
        for page, path in paths.items():
            found[page] = timing = _time(client, path, requests)
            print(f"  {page}: p50 {timing.p50:.1f} ms, p95 {timing.p95:.1f} ms "
                  f"({timing.count} requests)", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("CARELOOP_LOG_LEVEL", "WARNING")
    password_hash = accounts.hash_password(PASSWORD)
    with tempfile.TemporaryDirectory() as tmp:
        empty = measure(Path(tmp), "empty", 1, 3, args.requests, password_hash)
        ward = measure(Path(tmp), "ward", args.patients, args.alerts, args.requests,
                       password_hash)
    print(f"\n{'page':<14}{'empty p50':>12}{'p95':>12}{'ward p50':>12}{'p95':>12}"
          f"{'ratio p50':>11}  p95 ≤ {TARGET_MS:.0f} ms")
    for page in PAGES:
        e, w = empty[page], ward[page]
        cells = "".join(f"{ms:>9.1f} ms" for ms in (e.p50, e.p95, w.p50, w.p95))
        print(f"{page:<14}{cells}{w.p50 / e.p50:>10.1f}×  {'yes' if w.p95 <= TARGET_MS else 'NO'}")


if __name__ == "__main__":
    main()
