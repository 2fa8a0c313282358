"""Benchmark: device observations in through the API, on SQLite (or PostgreSQL).

N patients × 30 days of hourly heart rate and step summaries, a daily weight and a
twice-daily blood pressure (1,530 observations a patient: about 1.5 M for 1,000), posted as
FHIR Bundles of 500 to `POST /api/v1/patients/{id}/observations` with an API token, beside
a bare bulk INSERT of the same rows into another fresh database in the same run. Prints
seconds, observations/s, peak RSS, the ratio and the load average (the machine is shared).
Detection runs after each request's stored batch, as in production.

By default the whole ASGI stack runs in this process (Starlette's TestClient: no network,
the client's work counted in). `--workers N --clients K` runs the app as a real uvicorn
server with N worker processes and posts from K client threads over HTTP on 127.0.0.1, as
a deployment would (the client still shares this machine's cores). `--no-detection`
bypasses detection in process, for measuring its cost only (never a setting of the app).
`--database-url` names a PostgreSQL server where the bench makes (and afterwards drops)
its two databases; SQLite files in a temporary folder otherwise.

    .venv/bin/python -m bench.ingest [--patients 1000] [--bundle 500] [--no-detection]
        [--workers 2 --clients 2] [--database-url postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import insert, make_url, text

from assistant.config import get_settings
from assistant.domain import measures
from assistant.storage import db as dbmod
from assistant.storage.migrate import upgrade
from assistant.storage.models import Patient, Reading, Role

DAYS = 30
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "system": UCUM, "code": unit}


def _obs(code: str, at: datetime, n: int, value: float, unit: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "effectiveDateTime": at.isoformat(), "device": {"display": "bench-device"},
            "identifier": [{"system": "urn:bench", "value": f"{code}-{n}"}],
            "valueQuantity": _quantity(value, unit)}


def observations(patient: int) -> Iterator[dict[str, Any]]:
    """One patient's month, as a device hub would send it."""
    for hour in range(DAYS * 24):
        at = START + timedelta(hours=hour)
        yield _obs("8867-4", at, hour, 60 + (hour * 7 + patient) % 40, "/min")
        yield _obs("55423-8", at, hour, (hour * 37 + patient) % 900, "{steps}")
        if hour % 24 == 7:
            yield _obs("29463-7", at, hour, 70 + patient % 30 + (hour % 5) / 10, "kg")
        if hour % 12 == 7:
            bp = _obs(measures.BP_PANEL, at, hour, 0, "mm[Hg]")
            del bp["valueQuantity"]
            bp["component"] = [
                {"code": {"coding": [{"system": LOINC, "code": measures.SYSTOLIC}]},
                 "valueQuantity": _quantity(120 + hour % 25, "mm[Hg]")},
                {"code": {"coding": [{"system": LOINC, "code": measures.DIASTOLIC}]},
                 "valueQuantity": _quantity(78 + hour % 9, "mm[Hg]")}]
            yield bp


def _bundles(patient: int, size: int) -> Iterator[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for resource_ in observations(patient):
        entries.append({"resource": resource_})
        if len(entries) == size:
            yield {"resourceType": "Bundle", "type": "batch", "entry": entries}
            entries = []
    if entries:
        yield {"resourceType": "Bundle", "type": "batch", "entry": entries}


def _seed(url: str, patients: int) -> str:
    """A team, a member with an API token, the patients; returns the token."""
    from assistant.services import sessions, teams  # noqa: PLC0415 (after the env is set)

    engine = dbmod.make_engine(url)
    upgrade(engine=engine)
    with dbmod.session(engine) as db:
        team = teams.add_team(db, name="Bench", actor="bench")
        member = teams.add_member(db, team=team, name="Hub", email="hub@bench.example",
                                  role=Role.clinician, password_hash=None, actor="bench")
        token = sessions.issue_token(db, member, name="hub", actor="bench")
        db.add_all(Patient(team_id=team.id, display_name=f"P{i}") for i in range(patients))
    engine.dispose()
    return token


def _post_patient(client: httpx.Client, headers: dict[str, str], patient: int,
                  size: int) -> int:
    """One patient's month, Bundle after Bundle; how many were accepted."""
    sent = 0
    for document in _bundles(patient, size):
        answer = client.post(f"/api/v1/patients/{patient}/observations",
                             content=json.dumps(document).encode(), headers=headers)
        body = answer.json()
        if answer.status_code != 200 or body["refused"]:
            raise SystemExit(f"refused: {answer.status_code} {str(body)[:300]}")
        sent += len(body["accepted"])
    return sent


class _Detection:
    """Stands in for `monitoring.evaluate` during the in-process pass: runs it (unless
    bypassed) and adds up the CPU time it took in its thread, which load elsewhere on the
    machine barely changes."""

    def __init__(self, evaluate: Any, *, on: bool) -> None:
        self.evaluate, self.on, self.cpu, self.calls = evaluate, on, 0.0, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.on:
            return []
        started = time.thread_time()
        try:
            return self.evaluate(*args, **kwargs)
        finally:
            self.cpu += time.thread_time() - started
            self.calls += 1


def through_api(url: str, patients: int, size: int, *, detection: bool
                ) -> tuple[float, int, float, _Detection]:
    """Seconds, observations accepted, CPU seconds of this process (client and server),
    and what detection took."""
    from assistant.interfaces.web.app import create_app  # noqa: PLC0415 (after the env)
    from assistant.services import monitoring  # noqa: PLC0415 (after the env)

    token = _seed(url, patients)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    measured = _Detection(monitoring.evaluate, on=detection)
    with TestClient(create_app(), base_url="http://127.0.0.1") as client, \
            mock.patch.object(monitoring, "evaluate", measured):
        started, cpu = time.perf_counter(), time.process_time()
        sent = sum(_post_patient(client, headers, patient, size)
                   for patient in range(1, patients + 1))
        return (time.perf_counter() - started, sent, time.process_time() - cpu, measured)


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:  # not listening yet
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def through_server(url: str, patients: int, size: int, *, workers: int,
                   clients: int) -> tuple[float, int]:
    """The app as `careloop run` serves it (uvicorn), with `workers` processes; `clients`
    threads post the patients, each its share."""
    token = _seed(url, patients)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory",
         "assistant.interfaces.web.app:server_app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning"], env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=600,
                          limits=httpx.Limits(max_connections=clients)) as client:
            deadline = time.monotonic() + 120
            while not _up(client):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                sent = sum(pool.map(lambda n: _post_patient(client, headers, n, size),
                                    range(1, patients + 1)))
            return time.perf_counter() - started, sent
    finally:
        server.terminate()
        server.wait(timeout=60)


def bare_insert(url: str, patients: int) -> tuple[float, int]:
    _seed(url, patients)
    engine = dbmod.make_engine(url)
    now, rows, started = datetime.now(UTC), 0, time.perf_counter()
    for patient in range(1, patients + 1):
        batch = []
        for doc in observations(patient):
            code = doc["code"]["coding"][0]["code"]
            measure = measures.CODES[code]
            quantity = doc.get("valueQuantity") or doc["component"][0]["valueQuantity"]
            value2 = doc["component"][1]["valueQuantity"]["value"] if "component" in doc \
                else None
            batch.append({"patient_id": patient, "kind": measure.name, "code": code,
                          "value": quantity["value"], "value2": value2,
                          "unit": measure.label, "received_at": now, "source": "fhir",
                          "taken_at": datetime.fromisoformat(doc["effectiveDateTime"]),
                          "device": "bench-device",
                          "identifier": f"urn:bench|{doc['identifier'][0]['value']}"})
        with engine.begin() as conn:
            conn.execute(insert(Reading), batch)
        rows += len(batch)
    engine.dispose()
    return time.perf_counter() - started, rows


def _postgres(server: str, names: tuple[str, ...], *, create: bool) -> list[str]:
    """Drop the bench's databases on `server` and (with `create`) make them afresh."""
    engine = dbmod.make_engine(server)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return [make_url(server).set(database=name).render_as_string(hide_password=False)
            for name in names]


def _load() -> str:  # the machine is shared: what else ran beside each figure
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--bundle", type=int, default=500)
    parser.add_argument("--database-url", help="a PostgreSQL server to run on instead of "
                        "SQLite (its user may create databases)")
    parser.add_argument("--no-detection", action="store_true", help="to measure its cost")
    parser.add_argument("--workers", type=int, default=0, help="a real uvicorn's processes")
    parser.add_argument("--clients", type=int, default=2, help="threads posting to it")
    args = parser.parse_args()
    if args.workers and args.no_detection:
        parser.error("--no-detection bypasses detection in process only")
    folder = Path(tempfile.mkdtemp(prefix="careloop-bench-ingest-"))
    names = ("careloop_bench_api", "careloop_bench_bare")
    if args.database_url:
        api_url, bare_url = _postgres(args.database_url, names, create=True)
    else:
        api_url, bare_url = f"sqlite:///{folder / 'api.db'}", f"sqlite:///{folder / 'bare.db'}"
    os.environ.update(CARELOOP_DATA_DIR=str(folder), CARELOOP_DATABASE_URL=api_url,
                      CARELOOP_MAX_BODY_BYTES=str(64 * 1024 * 1024))
    get_settings.cache_clear()
    served = (f"uvicorn, {args.workers} workers, {args.clients} client threads"
              if args.workers else "in process (TestClient)")
    print(f"{args.patients} patients × {DAYS} days, Bundles of {args.bundle}, on "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}, {served}; detection "
          f"{'BYPASSED (measurement only)' if args.no_detection else 'on'}; load average "
          f"{_load()}", flush=True)
    if args.workers:
        api_s, api_n = through_server(api_url, args.patients, args.bundle,
                                      workers=args.workers, clients=args.clients)
    else:
        api_s, api_n, cpu, detection = through_api(api_url, args.patients, args.bundle,
                                                   detection=not args.no_detection)
    print(f"API     {api_n:>9} observations  {api_s:8.1f} s  {api_n / api_s:9.0f} obs/s  "
          f"{api_s / api_n * 1e6:7.0f} µs/obs  (load {_load()})", flush=True)
    if not args.workers:
        print(f"        CPU {cpu / api_n * 1e6:.0f} µs/obs (client and server), detection "
              f"{detection.cpu / api_n * 1e6:.0f} µs/obs ({detection.calls} runs)", flush=True)
    bare_s, bare_n = bare_insert(bare_url, args.patients)
    print(f"INSERT  {bare_n:>9} rows          {bare_s:8.1f} s  {bare_n / bare_s:9.0f} rows/s"
          f"  (load {_load()})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"ratio API / bare INSERT: {api_s / bare_s:.1f}×; peak RSS {peak:.0f} MB"
          + (f" (bench), {server:.0f} MB (largest server process)" if args.workers else ""))
    if args.database_url:
        _postgres(args.database_url, names, create=False)


if __name__ == "__main__":
    main()
