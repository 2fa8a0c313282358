"""`careloop run` and its children: any Rasa token starts the engine, the children die
with the supervisor however it dies, the bridge stops promptly, the output is quiet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from assistant import engine
from assistant.settings import Settings, get_settings
from tests.conftest import RASA_TOKEN, REPO, free_port
from tests.processes import Terminal
from tests.telegram_emulator import Emulator, Server
from tests.telegram_fixtures import TOKEN


def careloop(*args: str, env: dict[str, str] | None = None) -> Terminal:
    """`careloop ARGS` in its own process, as an operator starts it."""
    return Terminal(subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", *args], cwd=REPO, text=True,
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT))


def stop(terminal: Terminal) -> None:
    if terminal.process.poll() is None:
        terminal.process.kill()
        terminal.process.wait()


@pytest.mark.parametrize("token", ["-starts-with-a-dash", "--two-dashes", "plain_token-1"])
def test_the_rasa_token_is_passed_as_one_argument_whatever_it_looks_like(
        token: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("CARELOOP_RASA_TOKEN", token)
    get_settings.cache_clear()
    command = engine.rasa_command(get_settings(), engine.model_path(get_settings()))
    assert command[-1] == f"--auth-token={token}"
    assert token not in command[:-1]


def test_a_random_rasa_token_starting_with_a_dash_is_passed_as_one_argument(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.secrets, "token_urlsafe", lambda n: "-Yq3" + "x" * 28)
    command = engine.rasa_command(Settings(), engine.model_path(Settings()))
    assert command[-1] == "--auth-token=-Yq3" + "x" * 28


@pytest.mark.rasa
def test_rasa_starts_with_a_token_like_an_option_and_refuses_calls_without_it(
        rasa_stack: Settings) -> None:
    assert rasa_stack.rasa_token.get_secret_value() == RASA_TOKEN  # the stack started with it
    status = f"{rasa_stack.rasa_url}/status"
    assert httpx.get(status).status_code == 401
    assert httpx.get(status, params={"token": "wrong"}).status_code == 401
    answer = httpx.get(status, params={"token": RASA_TOKEN})
    assert answer.status_code == 200 and answer.json()["model_file"].endswith(".tar.gz")


@pytest.mark.parametrize("lost", ["before it starts", "while it polls"])
def test_the_bridge_stops_within_five_seconds_when_telegram_is_unreachable(lost: str) -> None:
    server = Server(Emulator(TOKEN))
    api = (server.__enter__().base_url if lost == "while it polls"
           else f"http://127.0.0.1:{free_port()}/bot")  # a closed port
    bridge = careloop("run", "--only", "bridge", env={
        "CARELOOP_TELEGRAM_TOKEN": TOKEN, "CARELOOP_TELEGRAM_API_URL": api})
    try:
        if lost == "while it polls":
            bridge.wait_for("bridge started", timeout=60)
            server.__exit__()
            # PTB pauses longer after each failed poll: 1 s, 1.5 s, ... 7.6 s after the 6th.
            bridge.wait_for("polling", "fail", timeout=60, count=6)
        else:
            bridge.wait_for("unreachable", timeout=60)  # waiting for Telegram, not crashed
        started = time.monotonic()
        bridge.process.send_signal(signal.SIGTERM)
        assert bridge.process.wait(timeout=30) == 0, bridge.output()
        assert time.monotonic() - started < 5, bridge.output()
        assert "Traceback" not in bridge.output()
    finally:
        stop(bridge)
        if server.thread.is_alive():
            server.__exit__()
