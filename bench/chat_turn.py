"""Benchmark: how long a patient waits for an answer.

Starts the real Rasa server and action server, then prints p50/p99 of
* NLU parse alone (`/model/parse`),
* the stock Rasa REST turn (a rule answering with a plain response, no custom action:
  the baseline),
* a whole CareLoop chat turn ("what do I take today?": guard, Rasa, custom action,
  database) — at 1 and at 10 concurrent patients. Targets on 2 cores: turn p50 ≤ 150 ms,
  p99 ≤ 400 ms at 10 concurrent patients.

    .venv/bin/python -m bench.chat_turn [--turns 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from assistant.config import PROJECT_DIR, Settings, get_settings
from assistant.conversation import chat as conversation
from assistant.conversation import rasa_engine as engine
from assistant.conversation.rasa_client import RasaClient
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces.supervisor import Stack, services
from assistant.services import medications, patients, teams
from assistant.storage.db import session
from assistant.storage.migrate import upgrade
from assistant.storage.models import Patient

TOKEN = "bench-token"
PATIENTS = 100
WARM_UP = 20  # calls before each measurement, not counted


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(count: int) -> list[Patient]:
    with session() as db:
        team = teams.add_team(db, name="Bench", actor="bench")
        found = []
        for n in range(count):
            patient = patients.add_patient(db, team=team, name=f"P{n}", timezone="Europe/Berlin",
                                           actor="bench")
            medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                    actor="bench",
                                    schedule=ScheduleSpec(times=("08:00", "20:00")))
            found.append(patient)
        return found


async def measure(turns: int, concurrency: int,
                  one: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    """p50 and p99 in ms of `turns` calls, `concurrency` at a time. Call n speaks for
    conversation n % PATIENTS: a few turns each, as in a patient's day, rather than one
    conversation hundreds of turns long (Rasa reloads and ships the whole session)."""
    timings: list[float] = []
    counter = iter(range(turns))

    async def worker() -> None:
        for n in counter:
            started = time.perf_counter()
            await one(n % PATIENTS)
            timings.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    quantiles = statistics.quantiles(timings, n=100)
    return quantiles[49], quantiles[98]


async def bench(turns: int) -> None:
    settings = get_settings()
    people = seed(PATIENTS)
    model = engine.train(settings, models_dir=PROJECT_DIR / "var" / "models")
    async with Stack(services(settings, ("actions", "rasa")), log_dir=settings.logs_dir) as stack:
        await stack.wait_healthy(timeout=240)
        rasa = RasaClient(settings.rasa_url, 10.0)
        async with httpx.AsyncClient(base_url=settings.rasa_url, timeout=10) as http:
            async def parse(i: int) -> object:
                return await http.post(f"/model/parse?token={TOKEN}",
                                       json={"text": "what do I take today?"})

            async def stock(i: int) -> object:
                return await http.post("/webhooks/rest/webhook",
                                       json={"sender": f"stock-{i}", "message": "hello"})

            async def turn(i: int) -> object:
                return await conversation.turn(rasa, people[i], "what do I take today?")

            print(f"model: {model.name}")
            for name, call in (("NLU parse", parse), ("stock Rasa REST turn (baseline)", stock),
                               ("CareLoop chat turn", turn)):
                await measure(WARM_UP, 1, call)  # each the same way: the baseline too
                for concurrency in (1, 10):
                    p50, p99 = await measure(turns, concurrency, call)
                    print(f"{name:<32} {concurrency:>2} concurrent: p50 {p50:6.1f} ms  "
                          f"p99 {p99:6.1f} ms")
        await rasa.aclose()
    print("targets at 10 concurrent patients: chat turn p50 ≤ 150 ms, p99 ≤ 400 ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=200)
    turns = parser.parse_args().turns
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        os.environ.update(CARELOOP_DATABASE_URL=url, CARELOOP_DATA_DIR=str(Path(tmp) / "var"),
                          CARELOOP_RASA_URL=f"http://127.0.0.1:{free_port()}",
                          CARELOOP_ACTION_PORT=str(free_port()), CARELOOP_RASA_TOKEN=TOKEN)
        get_settings.cache_clear()
        upgrade(Settings().db_url)
        asyncio.run(bench(turns))


if __name__ == "__main__":
    main()
