"""Fixtures for the Telegram side: the Bot API emulator and the running bridge."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from assistant.channels.telegram.channel import TelegramChannel
from assistant.config import Settings, get_settings
from tests.telegram_emulator import Emulator, Server

TOKEN = "123456:TEST-token-for-the-local-emulator"


@pytest.fixture
def telegram_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on 127.0.0.1, made the application's Bot API (fast pacing for tests)."""
    with Server(Emulator(TOKEN)) as emulator:
        monkeypatch.setenv("CARELOOP_TELEGRAM_TOKEN", TOKEN)
        monkeypatch.setenv("CARELOOP_TELEGRAM_API_URL", emulator.base_url)
        monkeypatch.setenv("CARELOOP_TELEGRAM_CHAT_INTERVAL_SECONDS", "0.05")
        get_settings.cache_clear()
        yield emulator


async def serve_telegram(settings: Settings, stop: asyncio.Event) -> None:
    """The Telegram bridge, as `careloop run --only bridge` serves it."""
    await TelegramChannel(settings).serve(stop)


class Running:
    """A coroutine service (bridge, outbox drain) run in its own thread and loop."""

    def __init__(self, service: object) -> None:
        self.service = service
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.service(get_settings(), self.stop_event))  # type: ignore[operator]
        except BaseException as exc:  # reported when the test stops the service
            self.error = exc

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)
        if self.error:
            raise self.error


@pytest.fixture
def bridge(telegram_emulator: Emulator, db_url: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The real bridge polling the emulator; yields the emulator to talk through. No Rasa
    runs here, and none is starting: the bridge does not hold messages for it."""
    monkeypatch.setenv("CARELOOP_RASA_HOLD_SECONDS", "0")
    get_settings.cache_clear()
    with Running(serve_telegram):
        yield telegram_emulator
