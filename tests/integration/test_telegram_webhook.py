"""Two bridges in webhook mode behind a round-robin load balancer, sharing one database, with
the real python-telegram-bot and the Bot API emulator posting updates as Telegram does
(again after a timeout or a non-2xx answer): each update is answered once, a retry that
lands on the other bridge included, and a bridge killed mid-turn leaves its update to the
other once its lease runs out. No Rasa runs here."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from assistant import metrics
from assistant.config import get_settings
from assistant.storage.db import session
from assistant.storage.models import ChatLink
from assistant.texts import t
from tests.conftest import PrivatePostgres, free_port
from tests.integration.test_supervisor import careloop, stop
from tests.integration.test_telegram_bridge import _code, _patient
from tests.processes import Terminal
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import Running, serve_telegram
from tests.webhook_balancer import HEADER, Balancer

CHAT = 4343
SECRET = "webhook-secret-of-the-tests"
LEASE = 2.0  # seconds: short, so that a dead bridge's update is taken over soon


@dataclass
class Bridges:
    telegram: Emulator
    balancer: Balancer
    processes: list[Terminal]
    urls: list[str]


@contextlib.contextmanager
def two_bridges(telegram: Emulator, holds: tuple[int, int] = (0, 0)) -> Iterator[Bridges]:
    """Two `careloop run --only bridge` in webhook mode behind the balancer (Rasa down:
    a message waits `holds[n]` seconds for it on bridge n, then gets the fallback)."""
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    rasa_down = f"http://127.0.0.1:{free_port()}"  # nothing listens
    telegram.webhook_timeout = 1.5
    with Balancer(urls) as balancer:
        processes: list[Terminal] = []
        try:
            for port, hold in zip(ports, holds, strict=True):
                processes.append(careloop("run", "--only", "bridge", env={
                    "CARELOOP_WEBHOOK_URL": balancer.url, "CARELOOP_WEBHOOK_SECRET": SECRET,
                    "CARELOOP_WEBHOOK_PORT": str(port), "CARELOOP_WEBHOOK_LEASE_SECONDS":
                    str(LEASE), "CARELOOP_RASA_URL": rasa_down,
                    "CARELOOP_RASA_HOLD_SECONDS": str(hold)}))
            for process in processes:
                process.wait_for("bridge started", timeout=60)
            yield Bridges(telegram, balancer, processes, urls)
        finally:
            for process in processes:
                stop(process)


def _answered(telegram: Emulator, update_id: int) -> bool:
    deliveries = telegram.deliveries_of(update_id)
    return bool(deliveries) and 200 <= deliveries[-1].status < 300


def test_an_update_retried_to_the_other_bridge_is_answered_once(
        telegram_emulator: Emulator, any_db_url: str) -> None:
    telegram, patient = telegram_emulator, _patient()
    with two_bridges(telegram) as bridges:
        assert telegram.calls.get("setWebhook") == 2  # each bridge, the same URL: harmless
        assert telegram.webhook["url"] == f"{bridges.balancer.url}/telegram"
        assert telegram.webhook["drop_pending_updates"] in ("false", False)
        assert telegram.webhook["secret_token"] == SECRET
        assert int(telegram.webhook["max_connections"]) == 100
        assert json.loads(telegram.webhook["allowed_updates"]) == [
            "message", "edited_message", "callback_query"]
        held = telegram.hold_next("sendMessage", text="not a medical device", stall=False)
        update_id = telegram.inject_text(CHAT, f"/start {_code(patient)}")
        assert held.arrived.wait(30), "the notice was never sent"
        # Its bridge is still at it: Telegram times out and posts the update again, and
        # the balancer takes it to the other bridge, which leaves it to the first.
        telegram.wait_until(lambda: (1, 503) in bridges.balancer.bridges_of(update_id),
                            "the other bridge refusing the update in hand", timeout=30)
        held.release()
        telegram.wait_until(lambda: _answered(telegram, update_id), "the update answered",
                            timeout=30)
        assert {turn for turn, _ in bridges.balancer.bridges_of(update_id)} == {0, 1}
        [notice] = telegram.messages_to(CHAT)
        # The patient agrees; the press may land on either bridge, and is answered once.
        query = telegram.inject_callback(CHAT, notice, notice.buttons[0][1])
        telegram.wait_answered(query, timeout=30)
        welcome = telegram.wait_for(CHAT, 2, timeout=30)[1]
        assert welcome.text.startswith(f"You're all set, {patient.display_name}")
        telegram.wait_until(lambda: telegram.pending() == 0, "every update answered")
        assert [m.text[:12] for m in telegram.messages_to(CHAT)] == [notice.text[:12],
                                                                      welcome.text[:12]]
        assert telegram.answered.count(query) == 1
        for process in bridges.processes:  # a clean stop, the webhook left to the others
            process.process.send_signal(signal.SIGTERM)
            assert process.process.wait(timeout=30) == 0, process.output()
        assert telegram.webhook.get("url")


def test_updates_without_the_secret_or_unreadable_are_refused(
        telegram_emulator: Emulator, db_url: str) -> None:
    telegram = telegram_emulator
    update = {"update_id": 999, "message": {
        "message_id": 1, "date": int(time.time()), "text": "hello",
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Pat"}}}
    with two_bridges(telegram) as bridges:
        for url in [*bridges.urls, bridges.balancer.url]:
            assert httpx.get(f"{url}/healthz").status_code == 200
            for secret in ("guess", "", SECRET[:-1]):
                forged = httpx.post(f"{url}/telegram", json=update, headers={HEADER: secret})
                assert forged.status_code == 403
            assert httpx.post(f"{url}/telegram", json=update).status_code == 403  # none
            for body in (b"{not json", b"[]", b'{"update_id": "x"}', b"\xff\xfe"):
                bad = httpx.post(f"{url}/telegram", content=body,
                                 headers={HEADER: SECRET, "content-type": "application/json"})
                assert bad.status_code == 400, body
        # The real one, posted by Telegram with the secret, is answered.
        telegram.inject_text(CHAT, "hello")
        assert telegram.wait_for(CHAT, timeout=30)[0].text == t("join.hello")
        time.sleep(0.3)  # nothing more comes for the forged ones
        assert len(telegram.messages_to(CHAT)) == 1


def test_a_bridge_killed_mid_turn_leaves_the_update_to_the_other_after_its_lease(
        telegram_emulator: Emulator, db_url: str) -> None:
    telegram, patient = telegram_emulator, _patient()
    with session() as db:
        db.add(ChatLink(patient_id=patient.id, chat_id=str(CHAT)))
    # The first update goes to bridge 0, which holds it for a Rasa that is starting.
    with two_bridges(telegram, holds=(120, 0)) as bridges:
        update_id = telegram.inject_text(CHAT, "what do I take today?")
        telegram.wait_until(lambda: (CHAT, "typing") in telegram.chat_actions,
                            "the message in bridge 0's hands", timeout=30)
        in_hand = time.monotonic()
        # Bridge 0 renews its lease while it works: bridge 1 keeps out well past one lease.
        telegram.wait_until(lambda: any(
            d.status == 503 and d.at > in_hand + 2 * LEASE
            for d in telegram.deliveries_of(update_id)), "the update kept by its bridge",
            timeout=30)
        assert telegram.messages_to(CHAT) == []
        bridges.processes[0].process.kill()
        bridges.processes[0].process.wait()
        answer = telegram.wait_for(CHAT, timeout=30)[0]
        assert answer.text == t("conversation.unavailable", number="112")
        telegram.wait_until(lambda: _answered(telegram, update_id), "the update answered")
        assert bridges.balancer.bridges_of(update_id)[-1] == (1, 200)
        assert len(telegram.messages_to(CHAT)) == 1


def test_a_bridge_back_in_long_polling_removes_the_webhook_and_gets_what_waited(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    telegram = telegram_emulator
    telegram.webhook = {"url": "https://careloop.example.org/telegram"}  # never posted to
    telegram.inject_text(CHAT, "hello")  # waiting since the webhook days
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "0")
    get_settings.cache_clear()
    with Running(serve_telegram):
        assert telegram.wait_for(CHAT, timeout=30)[0].text == t("join.hello")
    assert telegram.webhook == {}


def test_an_update_whose_handling_failed_is_handled_again_when_telegram_retries(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def counted(answer: str) -> float:
        return float(metrics.WEBHOOK.labels(answer)._value.get())

    telegram, patient, port = telegram_emulator, _patient(), free_port()
    before = {answer: counted(answer) for answer in ("failed", "handled")}
    for name, value in {"WEBHOOK_URL": f"http://127.0.0.1:{port}", "WEBHOOK_SECRET": SECRET,
                        "WEBHOOK_PORT": str(port), "RASA_HOLD_SECONDS": "0"}.items():
        monkeypatch.setenv(f"CARELOOP_{name}", value)
    get_settings.cache_clear()
    with Running(serve_telegram):
        telegram.inject_text(CHAT, f"/start {_code(patient)}")
        [notice] = telegram.wait_for(CHAT, timeout=30)
        # Agreeing takes the buttons off the notice first: Telegram refuses that once.
        telegram.fail_next("editMessageReplyMarkup", 400,
                           description="Bad Request: message can't be edited")
        telegram.inject_callback(CHAT, notice, notice.buttons[0][1])
        welcome = telegram.wait_for(CHAT, 2, timeout=30)[1]
        assert welcome.text.startswith(f"You're all set, {patient.display_name}")
        telegram.wait_until(lambda: telegram.pending() == 0, "every update answered")
        [failed] = [d.update_id for d in telegram.deliveries if d.status == 500]
        assert [d.status for d in telegram.deliveries_of(failed)] == [500, 200]
        assert len(telegram.messages_to(CHAT)) == 2
    assert counted("failed") - before["failed"] == 1
    assert counted("handled") - before["handled"] == 2  # /start, and agreeing on the retry


@pytest.mark.postgres
def test_with_the_database_stopped_an_update_is_still_answered_unclaimed(
        telegram_emulator: Emulator, own_postgres: PrivatePostgres,
        monkeypatch: pytest.MonkeyPatch) -> None:
    telegram, patient, port = telegram_emulator, _patient(), free_port()
    with session() as db:
        db.add(ChatLink(patient_id=patient.id, chat_id=str(CHAT)))
    for name, value in {"WEBHOOK_URL": f"http://127.0.0.1:{port}", "WEBHOOK_SECRET": SECRET,
                        "WEBHOOK_PORT": str(port), "RASA_HOLD_SECONDS": "0",
                        "RASA_URL": f"http://127.0.0.1:{free_port()}"}.items():
        monkeypatch.setenv(f"CARELOOP_{name}", value)
    get_settings.cache_clear()
    unclaimed = metrics.WEBHOOK.labels("unclaimed")._value.get()
    fallback = t("conversation.unavailable", number="112")
    with Running(serve_telegram):
        telegram.inject_text(CHAT, "hello")
        assert telegram.wait_for(CHAT, timeout=30)[0].text == fallback
        own_postgres.stop()
        update_id = telegram.inject_text(CHAT, "what do I take today?")
        assert telegram.wait_for(CHAT, 2, timeout=30)[1].text == fallback
        telegram.wait_until(lambda: _answered(telegram, update_id), "the update answered")
        own_postgres.start()
    assert metrics.WEBHOOK.labels("unclaimed")._value.get() - unclaimed == 1
    assert len(telegram.messages_to(CHAT)) == 2
