"""Several processes sending as one bot share Telegram's limits in Redis: two senders, each
with its own event loop, Bot and Redis connection (as two processes on two machines would
have), against the Bot API emulator run strictly at 30 messages a second and one a second
per chat."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from assistant.channels.telegram.sender import TelegramSender
from assistant.config import get_settings
from tests.conftest import reset_caches
from tests.telegram_emulator import Emulator

CHATS = range(6000, 6040)


@pytest.fixture
def shared(telegram_emulator: Emulator, redis_url: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The emulator at Telegram's real limits, and the senders' budget in a clean Redis."""
    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("CARELOOP_TELEGRAM_CHAT_INTERVAL_SECONDS", "1.0")
    monkeypatch.setenv("CARELOOP_REDIS_URL", redis_url)
    reset_caches()
    telegram_emulator.limit_per_second, telegram_emulator.chat_interval = 30, 1.0
    yield telegram_emulator


def _in_two_processes(work: list[list[int]], *, local: bool = False) -> None:
    """Each list of chats sent one message each by its own sender, in its own thread and
    event loop; `local`: each sender keeps the limits to itself."""
    def run(chats: list[int]) -> None:
        async def send() -> None:
            settings = get_settings()
            if local:
                settings = settings.model_copy(update={"redis_url": ""})
            sender = TelegramSender.from_settings(settings)
            async with sender.bot:
                await asyncio.gather(*(sender.send(str(chat), "Time for your tablet", [])
                                       for chat in chats))
        asyncio.run(send())

    threads = [threading.Thread(target=run, args=(chats,)) for chats in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def test_two_senders_keep_the_bot_s_limits_together(shared: Emulator) -> None:
    started = time.monotonic()
    _in_two_processes([list(CHATS), list(CHATS)])   # both to the same 40 chats
    assert len(shared.sent) == 80
    assert shared.too_many_requests == 0            # no 429: not 31 in a second, not 2 a chat
    assert time.monotonic() - started >= 80 / 30 - 1


def test_without_redis_two_senders_go_over_the_limits(shared: Emulator) -> None:
    """What the shared budget prevents: each sender keeping 30/s to itself makes 60/s."""
    _in_two_processes([list(CHATS), list(CHATS)], local=True)
    assert len(shared.sent) == 80                   # delivered, after waiting out 429s
    assert shared.too_many_requests > 0


def test_a_429_in_one_process_pauses_the_bot_in_every_process(shared: Emulator) -> None:
    async def pause_and_time() -> float:
        first = TelegramSender.from_settings(get_settings())
        second = TelegramSender.from_settings(get_settings())
        async with first.bot, second.bot:
            await first.pace.pause(1.5)               # as its 429's retry_after says
            started = time.monotonic()
            await second.send("6100", "Time for your tablet", [])
            return time.monotonic() - started

    assert asyncio.run(pause_and_time()) >= 1.4
    assert len(shared.sent) == 1


def test_a_reply_goes_before_the_outbox_s_messages_waiting_for_its_chat(
        shared: Emulator) -> None:
    """A sender has four reminders for one chat (one a second); a bridge's reply to that
    chat, asked for once the first is out, goes next, not after the other three."""
    async def send() -> None:
        outbox = TelegramSender.from_settings(get_settings())
        bridge = TelegramSender.from_settings(get_settings())

        async def recorded(message_id: int) -> None:
            """The outbox's own sends are recorded; nothing to record here."""

        async with outbox.bot, bridge.bot:
            queued = [asyncio.ensure_future(outbox.send("6200", f"Reminder {n}", [],
                                                        recorded=recorded))
                      for n in range(4)]
            while not shared.messages_to(6200):
                await asyncio.sleep(0.01)
            await bridge.send("6200", "Reply", [])
            await asyncio.gather(*queued)

    asyncio.run(send())
    assert [m.text for m in shared.messages_to(6200)] == [
        "Reminder 0", "Reply", "Reminder 1", "Reminder 2", "Reminder 3"]
    assert shared.too_many_requests == 0
