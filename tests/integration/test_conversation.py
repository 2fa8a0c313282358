"""Chat turns through the real Rasa 3.6 server and the rasa_sdk action server: the
pairing works, answers come from the patient's own plan, and failures are gentle."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from sqlmodel import select

from assistant import conversation, patients
from assistant.db import session
from assistant.models import Alert, AlertKind, Patient
from assistant.rasa_client import RasaClient, Reply
from assistant.settings import get_settings
from tests.conftest import free_port


def _patient(name: str) -> Patient:
    with session() as db:
        team = patients.add_team(db, name=f"Team of {name}", actor="test")
        patient = patients.add_patient(db, team=team, name=name, timezone="Europe/Berlin",
                                       actor="test")
        patients.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                instructions="with food", purpose="Lowers blood sugar.",
                                schedule=patients.ScheduleSpec(times=("08:00", "20:00")),
                                actor="test")
        return patient


async def _say(patient: Patient, text: str) -> str:
    settings = get_settings()
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds * 3)
    try:
        replies = await conversation.turn(rasa, patient, text)
    finally:
        await rasa.aclose()
    return "\n".join(reply.text for reply in replies)


@pytest.mark.rasa
async def test_a_patient_hears_their_own_plan_from_the_real_rasa_server(
        stack_db_url: str) -> None:
    patient = _patient("Ada")
    answer = await _say(patient, "what do I take today?")
    assert "Metformin" in answer and "08:00" in answer and "20:00" in answer
    assert "blood sugar" in (await _say(patient, "what is metfromin for?")).lower()


def _lock_writes(redis_url: str) -> int:
    """How many SET commands the Redis server has run (Rasa stores each turn's lock so)."""
    stats = subprocess.run(["redis-cli", "-u", redis_url, "info", "commandstats"],
                           capture_output=True, text=True, check=True).stdout
    found = re.search(r"^cmdstat_set:calls=(\d+)", stats, re.MULTILINE)
    return int(found.group(1)) if found else 0


@pytest.mark.rasa
async def test_rasa_locks_each_conversation_in_redis(stack_db_url: str, redis_url: str) -> None:
    before = _lock_writes(redis_url)
    assert "Metformin" in await _say(_patient("Eli"), "what do I take today?")
    assert _lock_writes(redis_url) > before


@pytest.mark.rasa
async def test_a_stranger_reaches_no_plan_data(stack_db_url: str) -> None:
    _patient("Bea")
    stranger = Patient(id=0, team_id=0, display_name="?", chat_ref="not-a-patient")
    answer = await _say(stranger, "what do I take today?")
    assert "Metformin" not in answer and "care team" in answer.lower()


async def test_emergency_wording_gets_guidance_and_alerts_without_rasa(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    get_settings.cache_clear()
    patient = _patient("Cem")
    answer = await _say(patient, "I have crushing chest pain")
    assert "112" in answer
    with session() as db:
        [alert] = db.exec(select(Alert)).all()
        assert alert.kind == AlertKind.emergency and alert.severity == "urgent"


async def test_when_rasa_is_down_the_patient_hears_so_within_five_seconds(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    patient = _patient("Dan")
    settings = get_settings()
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds)
    started = time.monotonic()
    replies = await conversation.turn(rasa, patient, "what do I take today?")
    await rasa.aclose()
    assert time.monotonic() - started < 5
    assert replies == [Reply(conversation.UNAVAILABLE)]
