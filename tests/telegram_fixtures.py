"""Fixtures for the Telegram side: the Bot API emulator, the running bridge, a fake Rasa
REST endpoint, and a helper that drains the outbox through the real sender.

Pacing is fast by default here (0.1 s between messages to a chat, the emulator
refusing under 0.05 s); tests about the real 1 s per chat set it back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from sqlmodel import select

from assistant.settings import Settings, get_settings
from tests.fake_rasa import FakeRasa
from tests.telegram_emulator import Emulator, Server

TOKEN = "123456:TEST-token-for-the-local-emulator"
TEST_CHAT_INTERVAL = 0.1

Service = Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]]


def _closed_port() -> int:
    from tests.conftest import free_port

    return free_port()  # nothing listens there once the probe socket is closed


@pytest.fixture
def telegram_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on 127.0.0.1, made the application's Bot API (fast pacing for tests)."""
    emulator = Emulator(TOKEN, limit_per_second=30, chat_interval=TEST_CHAT_INTERVAL / 2)
    with Server(emulator):
        monkeypatch.setenv("CARELOOP_TELEGRAM_TOKEN", TOKEN)
        monkeypatch.setenv("CARELOOP_TELEGRAM_API_URL", emulator.base_url)
        monkeypatch.setenv("CARELOOP_TELEGRAM_CHAT_INTERVAL_SECONDS", str(TEST_CHAT_INTERVAL))
        get_settings.cache_clear()
        yield emulator


@pytest.fixture
def rasa_down(monkeypatch: pytest.MonkeyPatch) -> str:
    """Rasa pointed at a closed port: every chat turn finds it down."""
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("CARELOOP_RASA_URL", url)
    get_settings.cache_clear()
    return url


@pytest.fixture
def fake_rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRasa]:
    """A fake Rasa REST channel (echo by default; set `.reply` / `.delay`), made the
    application's Rasa."""
    with FakeRasa().serve() as fake:
        monkeypatch.setenv("CARELOOP_RASA_URL", fake.url)
        get_settings.cache_clear()
        yield fake


class Running:
    """A coroutine service (bridge, outbox drain) run in its own thread and event loop."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.service(get_settings(), self.stop_event))
        except BaseException as exc:  # reported when the test stops the service
            self.error = exc
        finally:
            self.loop.close()

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)
        if self.error:
            raise self.error


@pytest.fixture
def bridge(request: pytest.FixtureRequest, telegram_emulator: Emulator,
           db_url: str) -> Iterator[Emulator]:
    """The real bridge long-polling the emulator; yields the emulator to talk through.
    Rasa is down unless the test also asks for `fake_rasa`."""
    from assistant.telegram.bridge import run_bridge

    request.getfixturevalue("fake_rasa" if "fake_rasa" in request.fixturenames
                            else "rasa_down")
    with Running(run_bridge):
        telegram_emulator.wait_until(lambda: telegram_emulator.calls.get("getUpdates"),
                                     what="the bridge to poll")
        yield telegram_emulator


def pending_outbox() -> int:
    from assistant.db import session
    from assistant.models import OutboxMessage, OutboxStatus

    with session() as db:
        return len(db.exec(select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.pending)).all())


def deliver_outbox(timeout: float = 10.0, backoff: float = 0.05,
                   **drain_options: Any) -> None:
    """Run the real outbox drain with the Telegram sender until nothing is pending (or
    `timeout`); the sender's backoff between retries is short here."""
    from assistant import outbox
    from assistant.telegram.sender import TelegramSender

    async def drain() -> None:
        sender = TelegramSender.from_settings(get_settings(), backoff=backoff)
        stop = asyncio.Event()
        async with sender.bot:
            task = asyncio.create_task(outbox.drain(
                sender.send, channel="telegram", stop=stop,
                **{"idle_seconds": 0.05, **drain_options}))
            deadline = time.monotonic() + timeout
            while await asyncio.to_thread(pending_outbox) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            await task

    asyncio.run(drain())
