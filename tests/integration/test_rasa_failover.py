"""Two real Rasa servers behind one client, as on two machines: one tracker store in
PostgreSQL, one lock store in Redis, one action server (JSON log lines). A patient
chats with the server their conversation is routed to; that server is SIGKILLed; the
next message is answered by the other server, which carries on the same conversation
(its tracker holds the turns the dead server handled), and the action server's log line
for that message carries the trace id the channel sent."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.conversation import chat as conversation
from assistant.conversation.rasa_client import RasaClient
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces.supervisor import Service, Stack, services
from assistant.logs import trace
from assistant.services import medications, patients, teams
from assistant.storage.db import session
from assistant.storage.models import Patient
from assistant.texts import t
from tests.conftest import RASA_TOKEN, free_port, reset_caches

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]


def _patient() -> Patient:
    with session() as db:
        team = teams.add_team(db, name="Team of Ada", actor="test")
        patient = patients.add_patient(db, team=team, name="Ada", timezone="Europe/Berlin",
                                       actor="test")
        medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                   purpose="Lowers blood sugar.",
                                   schedule=ScheduleSpec(times=("08:00", "20:00")),
                                   actor="test")
        return patient


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
    patient = _patient()
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
                own, other = rasa.route(patient.chat_ref)
                assert set(Settings().rasa_servers) == {own, other}

                async def say(text: str, trace_id: str) -> str:
                    token = trace.set(trace_id)
                    try:
                        replies = await conversation.turn(rasa, patient, text)
                    finally:
                        trace.reset(token)
                    return "\n".join(reply.text for reply in replies)

                answer = await say("what do I take today?", "update-101")
                assert "Metformin" in answer and "08:00" in answer
                assert await say("hello", "update-102") == t("conversation.greet")

                dead = first if own == urls[0] else second
                assert dead.process is not None
                os.killpg(dead.process.pid, signal.SIGKILL)
                await dead.process.wait()

                answer = await say("what is metformin for?", "update-103")
                assert "blood sugar" in answer.lower()  # the real answer, not the fallback
            finally:
                await rasa.aclose()
            # The survivor went on with the same conversation: its tracker (read from the
            # shared store) holds the turns the dead server handled, in one session.
            async with httpx.AsyncClient(base_url=other, timeout=30) as api:
                tracker = (await api.get(f"/conversations/{patient.chat_ref}/tracker",
                                         params={"token": RASA_TOKEN})).json()
            said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
            assert said == ["what do I take today?", "hello", "what is metformin for?"]
            assert [e["event"] for e in tracker["events"]].count("session_started") == 1
    # The action server logged the failed-over message's action under its trace id.
    for trace_id, action in [("update-101", "action_answer_schedule"),
                             ("update-103", "action_medication_info")]:
        [line] = _trace_lines(logs / "actions.log", trace_id)
        assert line["logger"] == "actions.base"
        assert str(line["message"]).startswith(f"{action} done in"), line
