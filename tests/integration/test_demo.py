"""The README's first command, as a person runs it: `careloop demo` in a fresh data
directory shows the due reminder with its choices and answers from the plan, and the
care team's console with a login that works; its terminal shows the demo, not logs;
with a Telegram token it serves Telegram (here the local Bot API emulator) instead;
`--language es` makes the demo patient a Spanish speaker and says what to type in
Spanish."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port
from tests.processes import Terminal, command_line, descendants, still_alive
from tests.telegram_emulator import Emulator

pytestmark = pytest.mark.rasa


def start_demo(trained_model: Path, tmp_path: Path, *args: str) -> Terminal:
    env = {**os.environ, "CARELOOP_DATA_DIR": str(tmp_path / "var"),
           "CARELOOP_RASA_URL": f"http://127.0.0.1:{free_port()}",
           "CARELOOP_ACTION_PORT": str(free_port()), "CARELOOP_WEB_PORT": str(free_port()),
           "CARELOOP_TIMEZONE": "Europe/Berlin"}
    # The model is already trained for the tests: share it instead of training again.
    (tmp_path / "var" / "models").mkdir(parents=True)
    (tmp_path / "var" / "models" / trained_model.name).symlink_to(trained_model)
    return Terminal(subprocess.Popen(
        [sys.executable, "-m", "assistant", "demo", *args], cwd=REPO, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))


def stop(console: Terminal) -> None:
    if console.process.poll() is None:
        console.process.kill()
        console.process.wait()


def console_page(address: str, password: str, patient: str) -> str:
    """Log in to the care team's console as the demo prints it, and open the patient's page."""
    with httpx.Client(base_url=address, follow_redirects=True, timeout=30) as web:
        csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/login").text)
        assert csrf is not None
        listing = web.post("/login", data={"email": "nurse@demo.careloop.example",
                                           "password": password, "csrf": csrf.group(1)})
        assert listing.status_code == 200 and listing.url.path == "/patients"
        link = re.search(rf'href="(/patients/\d+)"[^>]*>\s*{patient}\b', listing.text)
        assert link is not None, listing.text
        return web.get(link.group(1)).text


NOISE = ["DeprecationWarning", "endpoints.yml", "alembic", "Traceback", " INFO "]


def test_demo_shows_the_due_reminder_and_answers_from_the_plan(
        trained_model: Path, tmp_path: Path) -> None:
    console = start_demo(trained_model, tmp_path)
    try:
        login = console.wait_for("console: http", "one-time password", timeout=240)
        found = re.search(r"(http://\S+?)/? .* one-time password (\S+)", login)
        assert found is not None, login
        console.wait_for("you are sam", timeout=30)
        # Choices stay open until the next message: answer the reminder first.
        console.wait_for("time for your lisinopril 10 mg", timeout=150)  # the reminder ...
        console.wait_for("[1]", "taken", "snooze", "skip", timeout=5)  # ... with choices
        console.type("1")
        console.wait_for("noted: lisinopril 10 mg taken", timeout=30)
        console.type("what do I take today?")
        console.wait_for("metformin", timeout=30)
        console.type("my bp is 135/85")
        console.wait_for("saved", "135/85", timeout=30)
        # The nurse sees what the patient did, on the patient's page in the console.
        page = console_page(found.group(1), found.group(2), "Sam")
        assert "Lisinopril 10 mg: taken" in page and "135/85" in page
        console.type("/quit")
        assert console.process.wait(timeout=60) == 0
        shown = console.output()
        assert [word for word in NOISE if word in shown] == [], shown
        logs = tmp_path / "var" / "logs"  # ... while the logs are all kept
        assert {p.name for p in logs.iterdir()} >= {"rasa.log", "actions.log", "scheduler.log",
                                                    "web.log", "demo.log"}
        assert "scheduler started" in (logs / "scheduler.log").read_text()
        assert "Rasa server is up and running" in (logs / "rasa.log").read_text()
    finally:
        stop(console)


def test_the_spanish_demo_seeds_a_spanish_patient_and_says_what_to_type_in_spanish(
        trained_model: Path, tmp_path: Path) -> None:
    console = start_demo(trained_model, tmp_path, "--language", "es")
    try:
        login = console.wait_for("console: http", "one-time password", timeout=240)
        found = re.search(r"(http://\S+?)/? .* one-time password (\S+)", login)
        assert found is not None, login
        console.wait_for("you are sam", "who speaks español", "¿qué tomo hoy?",
                         "mi tensión es 135/85", timeout=30)
        page = console_page(found.group(1), found.group(2), "Sam")
        assert '<dt>Language</dt><dd lang="es">español</dd>' in page
        assert 'lang="es" value="con comida"' in page   # Metformin's label, in Spanish
        console.type("/quit")
        assert console.process.wait(timeout=60) == 0
    finally:
        stop(console)


def test_with_a_telegram_token_the_demo_serves_telegram(
        trained_model: Path, tmp_path: Path, telegram_emulator: Emulator) -> None:
    chat, telegram = 777, telegram_emulator  # advice may arrive between the answers
    console = start_demo(trained_model, tmp_path)  # the token comes from the fixture
    try:
        link = console.wait_for("serving telegram", "?start=", timeout=240)
        code = re.search(r"\?start=(\w+)", link)
        assert code is not None
        telegram.inject_text(chat, f"/start {code.group(1)}")
        notice = telegram.wait_for_text(chat, "not a medical device", timeout=20)
        telegram.inject_callback(chat, notice, notice.buttons[0][1])
        telegram.wait_for_text(chat, "all set")
        telegram.inject_text(chat, "what do I take today?")
        telegram.wait_for_text(chat, "Metformin 500 mg", timeout=30)
        reminder = telegram.wait_for_text(chat, "Time for your Lisinopril 10 mg", timeout=150)
        assert [title for title, _ in reminder.buttons] == ["✅ Taken", "⏰ Snooze 15 min", "Skip"]
        # Killed, the demo leaves nothing running: Rasa, actions, scheduler, bridge, web.
        children = descendants(console.process.pid)
        assert len(children) >= 5
        stop(console)
        left = still_alive(children, timeout=5)
        assert left == [], [command_line(pid) for pid in left]
    finally:
        stop(console)
