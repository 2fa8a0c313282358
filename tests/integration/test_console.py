"""The console channel (the demo's chat) while Rasa starts: a message waits for it, and a
possible emergency behind it is answered at once."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time

import pytest

from assistant.channels import console as console_mod
from assistant.config import get_settings
from assistant.services import patients, teams
from assistant.storage.db import session
from assistant.storage.models import ChatLink, Patient
from assistant.texts import t
from tests.conftest import free_port


def _patient() -> Patient:
    """A patient whose chat is the console's (the demo links it the same way)."""
    with session() as db:
        team = teams.add_team(db, name="Ward 3", actor="test")
        patient = patients.add_patient(db, team=team, name="Ida", timezone="Europe/Berlin",
                                       actor="test")
        db.add(ChatLink(patient_id=patient.id, channel=console_mod.CHANNEL,
                        chat_id=console_mod.DEMO_CHAT))
        return patient


async def _until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_an_emergency_is_answered_at_once_behind_a_message_held_for_rasa(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # starting
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "30")
    get_settings.cache_clear()
    reader, writer = os.pipe()
    monkeypatch.setattr(sys, "stdin", open(reader))  # noqa: SIM115  (the chat reads it)
    typed, screen = open(writer, "w"), io.StringIO()  # noqa: SIM115
    _patient()
    console = console_mod.Console(get_settings(), console_mod.DEMO_CHAT, screen)
    chat = asyncio.create_task(console.serve(asyncio.Event()))
    try:
        typed.write("what do I take today?\nmy lips are turning blue\n")
        typed.flush()
        started = time.monotonic()
        await _until(lambda: "Call 112 now" in screen.getvalue(), timeout=10)
        assert time.monotonic() - started < 5
        # The first one waits for Rasa, and says so (whichever of the two shows first).
        await _until(lambda: t("console.hold") in screen.getvalue(), timeout=10)
        typed.write("/quit\n")
        typed.close()
        await asyncio.wait_for(chat, timeout=10)  # leaving answers it, with the fallback
        assert t("conversation.unavailable", number="112") in screen.getvalue()
    finally:
        chat.cancel()


async def test_the_console_speaks_the_patients_language_and_follows_a_change(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELOOP_RASA_URL", f"http://127.0.0.1:{free_port()}")  # no Rasa
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "0")
    get_settings.cache_clear()
    reader, writer = os.pipe()
    monkeypatch.setattr(sys, "stdin", open(reader))  # noqa: SIM115  (the chat reads it)
    typed, screen = open(writer, "w"), io.StringIO()  # noqa: SIM115
    patient = _patient()
    with session() as db:
        patients.update_profile(db, db.get(Patient, patient.id), {"language": "es"},
                                actor="test")
    console = console_mod.Console(get_settings(), console_mod.DEMO_CHAT, screen)
    chat = asyncio.create_task(console.serve(asyncio.Event()))
    try:
        await _until(lambda: t("console.greeting", "es") in screen.getvalue(), timeout=10)
        typed.write("\n")  # an empty line: the console's own answer, in Spanish
        typed.flush()
        await _until(lambda: t("console.empty", "es") in screen.getvalue(), timeout=10)
        typed.write("in english please\n")
        typed.flush()
        await _until(lambda: t("language.changed", "en") in screen.getvalue(), timeout=10)
        typed.write("\n")
        typed.flush()
        await _until(lambda: t("console.empty", "en") in screen.getvalue(), timeout=10)
        typed.write("/quit\n")
        typed.close()
        await asyncio.wait_for(chat, timeout=10)
    finally:
        chat.cancel()
