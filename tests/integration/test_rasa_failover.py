"""Two real Rasa servers behind one client, as on two machines: one tracker store in
PostgreSQL, one lock store in Redis, one action server (JSON log lines). Two patients
chat with the server their conversations are routed to; that server is SIGKILLed while
one patient's message is in flight (its action waiting on a table lock). That message
gets the fallback; the other patient's next message is answered at once by the other
server, which carries on the same conversation (its tracker holds the turns the dead
server handled); the first patient is answered again once the dead server's lock on
the conversation expires. The action server's log lines carry the trace ids sent."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, text

from assistant.config import Settings
from assistant.conversation import chat as conversation
from assistant.conversation import rasa_engine as engine
from assistant.conversation.rasa_client import RasaClient, rendezvous
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces.supervisor import Service, Stack, services
from assistant.logs import trace
from assistant.services import medications, patients, teams
from assistant.storage.db import get_engine, session
from assistant.storage.models import Patient
from assistant.texts import t
from tests.conftest import RASA_TOKEN, free_port, reset_caches

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]


def _patient(name: str) -> Patient:
    with session() as db:
        team = teams.add_team(db, name=f"Team of {name}", actor="test")
        patient = patients.add_patient(db, team=team, name=name, timezone="Europe/Berlin",
                                       actor="test")
        medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                   purpose="Lowers blood sugar.",
                                   schedule=ScheduleSpec(times=("08:00", "20:00")),
                                   actor="test")
        return patient


def _two_patients_on_one_server(servers: list[str]) -> tuple[Patient, Patient]:
    """Two patients whose conversations go to the same Rasa server."""
    first = _patient("Ada")
    for n in itertools.count():
        other = _patient(f"Bo {n}")
        if rendezvous(other.chat_ref, servers)[0] == rendezvous(first.chat_ref, servers)[0]:
            return first, other
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _medications_locked() -> Iterator[Connection]:
    """The medications table locked (as a long migration would): an action that reads it
    waits, and the message it answers is in flight until the lock goes."""
    with get_engine().connect() as conn:
        conn.execute(text("LOCK TABLE medications IN ACCESS EXCLUSIVE MODE"))
        try:
            yield conn
        finally:
            conn.rollback()


async def _until_waiting_on_a_lock(conn: Connection) -> None:
    deadline = time.monotonic() + 60
    while not conn.execute(text("SELECT count(*) FROM pg_stat_activity "
                                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                                )).scalar():
        assert time.monotonic() < deadline, "the action never reached the medications"
        await asyncio.sleep(0.1)


def _rasa(url: str, monkeypatch: pytest.MonkeyPatch) -> Service:
    """A Rasa server on `url`'s port, with the settings of the test's environment."""
    monkeypatch.setenv("CARELOOP_RASA_URL", url)
    reset_caches()
    [service] = services(Settings(), ("rasa",))
    service.name = f"rasa-{url.rsplit(':', 1)[1]}"
    return service


def _trace_lines(log: Path, trace_id: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line["trace"] == trace_id]


async def test_when_a_conversations_rasa_server_dies_the_other_carries_it_on(
        trained_model: Path, pg_db_url: str, redis_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    for name, value in {"CARELOOP_REDIS_URL": redis_url, "CARELOOP_RASA_TOKEN": RASA_TOKEN,
                        "CARELOOP_ACTION_PORT": str(free_port()),
                        "CARELOOP_LOG_FORMAT": "json", "CARELOOP_RASA_URLS": ",".join(urls),
                        "CARELOOP_DATA_DIR": str(tmp_path / "var")}.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    ada, bo = _two_patients_on_one_server(urls)  # Bo's message is in flight at the crash
    actions = services(Settings(), ("actions",))
    first, second = (_rasa(url, monkeypatch) for url in urls)
    logs = tmp_path / "logs"
    # One after the other: each creates Rasa's tables in the tracker store when missing.
    async with Stack([*actions, first], log_dir=logs) as stack_a:
        await stack_a.wait_healthy(timeout=300)
        async with Stack([second], log_dir=logs) as stack_b:
            await stack_b.wait_healthy(timeout=300)
            rasa = RasaClient(urls, 30.0)  # no hold: a failover must not need one
            try:
                own, other = rasa.route(ada.chat_ref)
                assert rasa.route(bo.chat_ref)[0] == own
                assert set(Settings().rasa_servers) == {own, other}

                async def say(patient: Patient, text: str, trace_id: str) -> str:
                    token = trace.set(trace_id)
                    try:
                        replies = await conversation.turn(rasa, patient, text)
                    finally:
                        trace.reset(token)
                    return "\n".join(reply.text for reply in replies)

                answer = await say(ada, "what do I take today?", "update-101")
                assert "Metformin" in answer and "08:00" in answer
                assert await say(ada, "hello", "update-102") == t("conversation.greet")

                dead = first if own == urls[0] else second
                assert dead.process is not None
                with _medications_locked() as lock:
                    in_flight = asyncio.create_task(
                        say(bo, "what is metformin for?", "update-201"))
                    await _until_waiting_on_a_lock(lock)
                    os.killpg(dead.process.pid, signal.SIGKILL)
                    killed = time.monotonic()
                    await dead.process.wait()
                    # The message in flight: the fallback, never sent again elsewhere.
                    assert await in_flight == t("conversation.unavailable", number="112")

                # Ada's next message: the other server, at once, the real answer.
                started = time.monotonic()
                answer = await say(ada, "what is metformin for?", "update-103")
                assert "blood sugar" in answer.lower() and time.monotonic() - started < 10
                # Bo's conversation waits for the dead server's lock on it to expire
                # (LOCK_SECONDS); writing again, Bo is answered soon after.
                while "blood sugar" not in (answer := await say(bo, "and metformin?",
                                                                "update-202")).lower():
                    assert answer == t("conversation.unavailable", number="112")
                    assert time.monotonic() - killed < engine.LOCK_SECONDS + 15
            finally:
                await rasa.aclose()
            # The survivor went on with Ada's conversation: its tracker (read from the
            # shared store) holds the turns the dead server handled, in one session.
            async with httpx.AsyncClient(base_url=other, timeout=30) as api:
                tracker = (await api.get(f"/conversations/{ada.chat_ref}/tracker",
                                         params={"token": RASA_TOKEN})).json()
            said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
            assert said == ["what do I take today?", "hello", "what is metformin for?"]
            assert [e["event"] for e in tracker["events"]].count("session_started") == 1
    # The action server logged each message's action under that message's trace id.
    for trace_id, action in [("update-101", "action_answer_schedule"),
                             ("update-103", "action_medication_info")]:
        [line] = _trace_lines(logs / "actions.log", trace_id)
        assert line["logger"] == "actions.base"
        assert str(line["message"]).startswith(f"{action} done in"), line
