"""`careloop run` and its children: any Rasa token starts the engine, the children die
with the supervisor however it dies, the bridge stops promptly, the output is quiet."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings, get_settings
from assistant.conversation import rasa_engine as engine
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import enrolment, medications, patients, teams
from assistant.storage.db import session
from tests.conftest import RASA_TOKEN, REPO, free_port
from tests.processes import Terminal, command_line, descendants, kill, still_alive
from tests.telegram_emulator import Emulator, Server
from tests.telegram_fixtures import TOKEN


def careloop(*args: str, env: dict[str, str] | None = None) -> Terminal:
    """`careloop ARGS` in its own process, as an operator starts it."""
    return Terminal(subprocess.Popen(
        [sys.executable, "-m", "assistant", *args], cwd=REPO, text=True,
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


STACK = """
import asyncio, sys
from assistant.interfaces.supervisor import Service, Stack

async def main() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    async with Stack([Service(f"s{n}", sleeper, {}) for n in range(3)]) as stack:
        print("children", *[item.process.pid for item in stack.items], flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


def test_children_die_with_a_supervisor_killed_by_sigkill() -> None:
    """SIGKILL leaves the supervisor no time to stop anything: the children must go by
    themselves."""
    supervisor = Terminal(subprocess.Popen(
        [sys.executable, "-c", STACK], cwd=REPO, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT))
    children = [int(pid) for pid in supervisor.wait_for("children", timeout=60).split()[1:]]
    try:
        assert len(children) == 3 and not set(children) - set(descendants(
            supervisor.process.pid))
        supervisor.process.kill()
        supervisor.process.wait()
        left = still_alive(children, timeout=5)
        assert left == [], [command_line(pid) for pid in left]
    finally:
        stop(supervisor)
        kill(children)


@pytest.mark.rasa
def test_careloop_run_answers_a_message_sent_while_rasa_starts_and_its_children_die_with_it(
        trained_model: Path, tmp_path: Path, telegram_emulator: Emulator, db_url: str) -> None:
    chat, telegram = 5150, telegram_emulator
    with session() as db:
        team = teams.add_team(db, name="Ward 7", actor="test")
        patient = patients.add_patient(db, team=team, name="Ada", timezone="Europe/Berlin",
                                       actor="test")
        medications.add_medication(db, patient=patient, name="Metformin", strength="500 mg",
                                schedule=ScheduleSpec(times=("08:00",)), actor="test")
        code = enrolment.issue_code(db, patient=patient, actor="test", hours=1).code
    models = tmp_path / "var" / "models"  # the tests' model, not trained again
    models.mkdir(parents=True)
    (models / trained_model.name).symlink_to(trained_model)
    run = careloop("run", env={"CARELOOP_RASA_URL": f"http://127.0.0.1:{free_port()}",
                               "CARELOOP_ACTION_PORT": str(free_port()),
                               "CARELOOP_WEB_PORT": str(free_port())})
    try:
        # The bridge is up long before Rasa: the patient enrols and writes meanwhile.
        telegram.inject_text(chat, f"/start {code}")
        notice = telegram.wait_for_text(chat, "not a medical device", timeout=120)
        telegram.inject_callback(chat, notice, notice.buttons[0][1])
        telegram.wait_for_text(chat, "all set", timeout=30)
        telegram.inject_text(chat, "what do I take today?")
        deadline = time.monotonic() + 30
        while (chat, "typing") not in telegram.chat_actions:
            assert time.monotonic() < deadline, "no 'typing' while Rasa was starting"
            time.sleep(0.1)
        assert not any("ready:" in line for line in run.seen + [run.output(timeout=0)])
        # Once Rasa is up, the real answer: never the apology.
        telegram.wait_for_text(chat, "Metformin 500 mg", timeout=300)
        run.wait_for("ready:", timeout=30)
        assert not [m.text for m in telegram.messages_to(chat) if "can't answer" in m.text]
        shown = run.output(timeout=0)
        noise = ["DeprecationWarning", "endpoints.yml", "Traceback", "Registered function"]
        assert [word for word in noise if word in shown] == [], shown
        # SIGKILLed, the supervisor cannot stop its children: they must go by themselves.
        children = descendants(run.process.pid)
        assert len(children) >= 5  # rasa, actions, scheduler, bridge, web
        stop(run)
        left = still_alive(children, timeout=5)
        assert left == [], [command_line(pid) for pid in left]
    finally:
        stop(run)


SUPERVISED = """
import asyncio, logging, sys
from assistant.interfaces import supervisor
from assistant.interfaces.supervisor import Service, Stack

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stdout)
supervisor.RESTART_PAUSE_SECONDS = 0.2
STEADY = '''
import os, subprocess, sys, time
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("started", os.getpid(), "helper", helper.pid, flush=True)
time.sleep(600)
'''

async def main() -> None:
    supervisor.stop_on_signals()  # SIGTERM stops the stack, as in `careloop run`
    crashing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    steady = [sys.executable, "-c", STEADY]
    items = [Service("steady", steady, {}), Service("other", steady, {})]
    if sys.argv[1] == "crashing":
        items.append(Service("crashing", crashing, {}))
    if sys.argv[1] == "long line":
        chatty = "print('x' * 100_000); print('after it', flush=True); import time; time.sleep(600)"
        items.append(Service("chatty", [sys.executable, "-c", chatty], {}))
    async with Stack(items) as stack:
        print("gave up on", (await stack.supervise()).name, flush=True)

try:
    asyncio.run(main())
except asyncio.CancelledError:
    pass
"""


def supervised(case: str) -> Terminal:
    return Terminal(subprocess.Popen(
        [sys.executable, "-c", SUPERVISED, case], cwd=REPO, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT))


def _started(line: str) -> tuple[int, int]:
    words = line.split()
    return int(words[words.index("started") + 1]), int(words[words.index("helper") + 1])


def test_a_killed_service_is_started_again_and_what_it_started_is_stopped() -> None:
    stack = supervised("steady")
    try:
        service, helper = _started(stack.wait_for("steady", "started", "helper", timeout=60))
        other, _ = _started(stack.wait_for("other", "started", "helper", timeout=60))
        os.kill(service, signal.SIGKILL)
        stack.wait_for("steady exited (SIGKILL); starting it again in 0.2 s", timeout=30)
        stack.wait_for("steady started again", timeout=30)
        again, _ = _started(stack.wait_for("steady", "started", "helper", timeout=60, count=2))
        assert again != service and still_alive([again], timeout=0) == [again]
        # The helper it left would have kept running (and kept a port): it was stopped.
        assert still_alive([helper], timeout=5) == []
        assert still_alive([other], timeout=0) == [other]  # the others ran on meanwhile
        assert stack.process.poll() is None
    finally:
        stack.process.send_signal(signal.SIGTERM)
        stack.process.wait(timeout=30)


def test_a_service_crashing_at_each_start_is_given_up_after_pauses_that_double() -> None:
    started = time.monotonic()
    stack = supervised("crashing")
    try:
        stack.wait_for("gave up on crashing", timeout=60)
        assert stack.process.wait(timeout=30) == 0
        shown = stack.output()
        pauses = re.findall(r"crashing exited \(status 3\); starting it again in ([\d.]+) s", shown)
        assert pauses == ["0.2", "0.4", "0.8", "1.6"], shown
        assert "crashing exited (status 3), 5 times in a row soon after starting; giving up" \
            in shown
        assert time.monotonic() - started >= 3.0  # it did pause
        # The stack stopped the others on its way out: nothing it started is left.
        steady = [_started(line) for line in shown.splitlines() if " helper " in line]
        assert still_alive([pid for pair in steady for pid in pair], timeout=5) == []
    finally:
        stop(stack)


def test_a_line_too_long_to_show_stops_neither_the_output_nor_the_stack() -> None:
    """Seen: a service's 64 KiB+ line ended the reading of its output (the service would
    then block on a full pipe) and made `careloop run` exit with a traceback."""
    stack = supervised("long line")
    try:
        stack.wait_for("chatty", "(a line too long to show was left out)", timeout=60)
        stack.wait_for("chatty", "after it", timeout=30)
        stack.process.send_signal(signal.SIGTERM)
        assert stack.process.wait(timeout=30) == 0
        assert "Traceback" not in stack.output()
    finally:
        stop(stack)


RASA_LOGS = """
import structlog
from rasa_components import launcher as rasa_main
rasa_main.hide_what_patients_write()  # as `python -m rasa_components.launcher run` does
from rasa.utils.log_utils import configure_structlog
configure_structlog(20)
structlog.get_logger().error("rest.message.received.timeout", text="my chest hurts")
"""


@pytest.mark.rasa
def test_rasas_log_lines_do_not_carry_what_a_patient_wrote(rasa_cli: Path) -> None:
    """Seen in the fault-injection suite: a turn that timed out put the patient's message
    in Rasa's log."""
    done = subprocess.run([str(rasa_cli.parent / "python"), "-c", RASA_LOGS], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=120, check=True)
    assert "rest.message.received.timeout" in done.stdout
    assert "chest" not in done.stdout + done.stderr
