"""What operators see: Prometheus counters moved by real deliveries (the outbox drain and
python-telegram-bot against the Bot API emulator), readiness that follows the outbox, and
the scheduler's and the bridge's own port (metrics, liveness, readiness). Labels never
name a patient or a chat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from assistant.config import Settings
from assistant.interfaces.web.app import create_app
from assistant.services import patients, teams
from assistant.storage.db import session, utcnow
from assistant.storage.models import ChatLink, MessageKind, OutboxMessage
from tests.conftest import REPO, PrivatePostgres, free_port, reset_caches
from tests.integration.test_telegram_bridge import deliver_outbox
from tests.telegram_emulator import Emulator

TOKEN = "metrics-secret-for-tests"
LABELS = {"kind", "channel", "reason", "severity", "job", "le", "answer"}  # fixed values only


@pytest.fixture
def web(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CARELOOP_METRICS_TOKEN", TOKEN)
    reset_caches()
    with TestClient(create_app()) as client:
        yield client


def _scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("careloop_"):
                assert set(sample.labels) <= LABELS, sample  # no patient, chat or text
                found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _metrics(web: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return _scrape(answer.text)


def _queue(count: int, *, late_seconds: float = 5) -> None:
    with session() as db:
        team = teams.add_team(db, name="Metrics ward", actor="test")
        for n in range(count):
            patient = patients.add_patient(db, team=team, name=f"M{n}", timezone="UTC",
                                           actor="test")
            db.add(ChatLink(patient_id=patient.id, chat_id=str(7000 + n)))
            db.add(OutboxMessage(patient_id=patient.id, kind=MessageKind.reminder,
                                 text="Time for your tablet",
                                 not_before=utcnow() - timedelta(seconds=late_seconds)))


def _delta(after: dict, before: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_deliveries_429s_and_blocked_chats_are_counted_by_kind(
        telegram_emulator: Emulator, web: TestClient) -> None:
    _queue(3)
    telegram_emulator.fail_next("sendMessage", 429, retry_after=1)
    telegram_emulator.block_chat(7002)
    before = _metrics(web)
    deliver_outbox()
    after = _metrics(web)
    sent = dict(kind="reminder", channel="telegram")
    assert _delta(after, before, "careloop_messages_sent_total", **sent) == 2
    assert _delta(after, before, "careloop_messages_failed_total", **sent,
                  reason="unreachable") == 1
    assert _delta(after, before, "careloop_messages_throttled_total", channel="telegram") == 1
    assert _delta(after, before, "careloop_reminder_lateness_seconds_count") == 2
    # Both were due 5 s before the drain ran, and one waited out the 429's second.
    assert _delta(after, before, "careloop_reminder_lateness_seconds_bucket", le="1.0") == 0
    assert _delta(after, before, "careloop_reminder_lateness_seconds_bucket", le="30.0") == 2
    assert after[("careloop_outbox_waiting", ())] == 0


def test_metrics_need_the_token_from_another_host(web: TestClient) -> None:
    assert web.get("/metrics").status_code == 403           # TestClient is not loopback
    wrong = web.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 403 and "careloop_" not in wrong.text


def test_readiness_follows_the_outbox_lag(web: TestClient) -> None:
    assert web.get("/readyz").json() == {"ready": True, "database": "ok",
                                         "outbox_waiting": 0, "outbox_oldest_seconds": 0.0}
    _queue(1, late_seconds=600)   # nobody delivered it for 10 minutes: the grace is 5
    lagging = web.get("/readyz")
    assert lagging.status_code == 503 and lagging.json()["outbox_waiting"] == 1
    assert web.get("/healthz").status_code == 200   # alive all the same


def test_the_scheduler_answers_prometheus_on_its_own_port(db_url: str) -> None:
    port = free_port()
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "assistant", "run", "--only", "scheduler"], cwd=REPO,
        env={**os.environ, "CARELOOP_SCHEDULER_METRICS_PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, ticks = time.monotonic() + 60, 0.0
        while time.monotonic() < deadline and not ticks:
            try:
                found = _scrape(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
                ticks = found.get(("careloop_scheduler_job_seconds_count",
                                   (("job", "careloop-doses"),)), 0.0)
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert ticks >= 1, "the scheduler's metrics never showed a dose tick"
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)


@contextmanager
def _service(name: str, **env: str) -> Iterator[None]:
    """`careloop run --only NAME` (with the test's settings and `env`) until the block ends."""
    process = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--only", name],
                               cwd=REPO, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str, status: int, timeout: float = 60) -> httpx.Response:
    """`url`'s answer once it is `status` (the service may still be starting)."""
    deadline, last = time.monotonic() + timeout, None
    while True:
        try:
            answer = httpx.get(url, timeout=10)
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if answer.status_code == status:
                return answer
            last = f"{answer.status_code} {answer.text}"
        assert time.monotonic() < deadline, f"{url} never answered {status}; last: {last}"
        time.sleep(0.2)


def _container_check(url: str) -> int:
    """The exit status of deploy/compose.yaml's health check (as Docker runs it) on `url`."""
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    test = compose["services"]["scheduler"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    return subprocess.run([sys.executable, *test[2:-1], url], capture_output=True,
                          timeout=30).returncode


def test_the_scheduler_is_not_ready_while_its_database_is_down(
        own_postgres: PrivatePostgres) -> None:
    port = free_port()
    with _service("scheduler", CARELOOP_SCHEDULER_METRICS_PORT=str(port)):
        base = f"http://127.0.0.1:{port}"
        assert _answers(f"{base}/healthz", 200).json() == {"status": "ok"}
        assert _answers(f"{base}/readyz", 200).json()["database"] == "ok"
        assert _container_check(f"{base}/readyz") == 0
        own_postgres.stop()
        down = _answers(f"{base}/readyz", 503, timeout=30)
        assert down.json() == {"ready": False, "database": "unreachable"}
        assert _container_check(f"{base}/readyz") != 0
        assert _container_check(f"{base}/healthz") == 0
        assert httpx.get(f"{base}/healthz").status_code == 200  # alive all the same
        assert "careloop_scheduler_job_seconds" in httpx.get(f"{base}/metrics").text


def test_the_bridge_is_not_ready_without_a_rasa_server(
        telegram_emulator: Emulator, db_url: str) -> None:
    port = free_port()
    with _service("bridge", CARELOOP_BRIDGE_METRICS_PORT=str(port),
                  CARELOOP_RASA_URL=f"http://127.0.0.1:{free_port()}"):  # nothing listens
        base = f"http://127.0.0.1:{port}"
        assert _answers(f"{base}/healthz", 200).json() == {"status": "ok"}
        assert _answers(f"{base}/readyz", 503).json() == {
            "ready": False, "database": "ok", "rasa": "unreachable"}
        assert _container_check(f"{base}/readyz") != 0
        assert "careloop_messages_sent_total" in httpx.get(f"{base}/metrics").text


def test_the_bridge_is_ready_once_rasa_answers(
        rasa_stack: Settings, stack_db_url: str, telegram_emulator: Emulator) -> None:
    port = free_port()
    with _service("bridge", CARELOOP_BRIDGE_METRICS_PORT=str(port)):
        assert _answers(f"http://127.0.0.1:{port}/readyz", 200).json() == {
            "ready": True, "database": "ok", "rasa": "ok"}
