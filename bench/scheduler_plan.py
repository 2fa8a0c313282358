"""Benchmark: planning 100,000 schedules over 24 h on SQLite.

Prints the time and peak memory of `assistant.scheduling.planner.plan` (target ≤ 10 s and
≤ 300 MB), beside two baselines measured in the same run: the pure expansion
(`dues.expand`, no database) and a bare bulk INSERT of the same rows.

    .venv/bin/python -m bench.scheduler_plan [--schedules 100000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import select

from assistant.domain import dues, zones
from assistant.domain.schedule_specs import timing_of
from assistant.scheduling.planner import Policy, plan
from assistant.storage.db import make_engine, session
from assistant.storage.migrate import upgrade
from assistant.storage.models import CareTeam, DoseOccurrence, DoseSchedule, Medication, Patient

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
NOW = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # spans the Berlin DST change


def seed(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine=engine)
    with engine.begin() as conn:
        conn.execute(insert(CareTeam), [{"name": "Bench", "created_at": NOW,
                                          "missed_alert_after": 2}])
        conn.execute(insert(Patient), [
            {"id": i + 1, "team_id": 1, "chat_ref": f"{i:032x}", "display_name": f"P{i}",
             "timezone": ZONES[i % len(ZONES)], "language": "en", "status": "active",
             "conditions": [], "goals": [], "advice_per_day": 1, "created_at": NOW}
            for i in range(n)])
        conn.execute(insert(Medication), [
            {"id": i + 1, "patient_id": i + 1, "name": "Metformin", "strength": "500 mg",
             "dose": "1 tablet", "instructions": "", "purpose": "", "active": True,
             "created_at": NOW} for i in range(n)])
        conn.execute(insert(DoseSchedule), [
            {"medication_id": i + 1, "times_of_day": ["08:00", "20:00"],
             "days_of_week": None if i % 3 else [0, 2, 4], "every_n_days": 1,
             "start_date": date(2027, 1, 1), "as_needed": False, "active": True,
             "updated_at": NOW - timedelta(days=30)} for i in range(n)])
    engine.dispose()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=100_000)
    n = parser.parse_args().schedules
    policy = Policy(horizon=timedelta(hours=24), grace=timedelta(minutes=60),
                    followup=timedelta(minutes=30), snooze_minutes=15)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        # Seeded in a child process so that the peak memory below is the planner's.
        seeding = multiprocessing.get_context("spawn").Process(target=seed, args=(url, n))
        seeding.start()
        seeding.join()
        engine = make_engine(url)
        start_rss = rss_mb()
        started = time.perf_counter()
        extended = 0
        with session(engine) as db:
            while (count := plan(db, policy, now=NOW, batch=5000)):
                extended += count
                db.commit()
        planned = time.perf_counter() - started
        peak = rss_mb()  # the planner's peak: measured before the baselines run
        with session(engine) as db:
            occurrences = len(db.exec(select(DoseOccurrence.id)).all())
            rows = [(timing_of(r), zones.zone(ZONES[(r.medication_id - 1) % 5]))
                    for r in db.exec(select(DoseSchedule)).all()]

        started = time.perf_counter()
        expanded = [due for timing, tz in rows
                    for due in dues.expand(timing, tz, NOW, NOW + policy.horizon)]
        pure = time.perf_counter() - started

        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE t (schedule_id INT, due_at TIMESTAMP)"))
            conn.execute(text("INSERT INTO t VALUES (:s, :d)"),
                         [{"s": i, "d": due.replace(tzinfo=None)}
                          for i, due in enumerate(expanded)])
        bare_insert = time.perf_counter() - started

    print(f"schedules: {n:,}; occurrences over 24 h: {occurrences:,} "
          f"(expected {len(expanded):,}); schedules extended: {extended:,}")
    print(f"baseline, pure expansion (no database): {pure:6.2f} s")
    print(f"baseline, bare bulk INSERT of the rows: {bare_insert:6.2f} s")
    print(f"planner (query + expand + insert):      {planned:6.2f} s  "
          f"target ≤ 10 s: {'met' if planned <= 10 else 'NOT met'}; "
          f"{planned / (pure + bare_insert):.2f}× the two baselines together")
    print(f"peak memory: {peak:.0f} MB (process; {start_rss:.0f} MB before planning)  "
          f"target ≤ 300 MB: {'met' if peak <= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
