"""The one Telegram sender against the Bot API emulator: Telegram's limits kept, 429s
waited out, errors retried without loss, refusals told apart, long texts split."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from assistant.settings import Settings, get_settings
from assistant.telegram.sender import (
    Rejected,
    RetryLater,
    TelegramSender,
    Unreachable,
    split_text,
    telegram_length,
)
from tests.telegram_emulator import Emulator

CHAT = "5151"
T = TypeVar("T")


def _run(work: Callable[[TelegramSender], Awaitable[T]], *, interval: float = 0.1,
         read_timeout: float = 10.0, rate: float = 30.0, backoff: float = 0.05,
         max_tries: int = 5) -> T:
    """Run `work` with a sender on the emulator's Bot API."""

    async def run() -> T:
        settings = get_settings()
        assert settings.telegram_token is not None
        bot = Bot(settings.telegram_token.get_secret_value(), base_url=settings.telegram_api_url,
                  request=HTTPXRequest(read_timeout=read_timeout, connection_pool_size=32))
        sender = TelegramSender(bot, rate_per_second=rate, chat_interval=interval,
                                backoff=backoff, max_tries=max_tries)
        async with bot:
            return await work(sender)

    return asyncio.run(run())


def _send(*texts: str, chat: str = CHAT, **options: float) -> list[int]:
    async def work(sender: TelegramSender) -> list[int]:
        return [await sender.send(chat, text, []) for text in texts]

    return _run(work, **options)  # type: ignore[arg-type]


def test_the_message_id_is_telegrams_and_buttons_become_an_inline_keyboard(
        telegram_emulator: Emulator) -> None:
    buttons = [[{"text": "✅ Taken", "data": "dose:1:taken"}, {"text": "Skip", "data": "dose:1:skip"}]]

    async def work(sender: TelegramSender) -> int:
        return await sender.send(CHAT, "💊 Time for your Metformin", buttons)

    message_id = _run(work)
    [sent] = telegram_emulator.sent(CHAT)
    assert sent.message_id == message_id
    assert sent.buttons == [("✅ Taken", "dose:1:taken"), ("Skip", "dose:1:skip")]


def test_a_429_is_waited_out_for_its_retry_after(telegram_emulator: Emulator) -> None:
    telegram_emulator.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    [message_id] = _send("hello")
    assert time.monotonic() - started >= 1.0
    assert [m.message_id for m in telegram_emulator.sent(CHAT)] == [message_id]
    assert telegram_emulator.calls["sendMessage"] == 2


def test_a_429_holds_the_whole_bot_not_just_one_chat(telegram_emulator: Emulator) -> None:
    telegram_emulator.fail_next("sendMessage", 429, retry_after=1)

    async def work(sender: TelegramSender) -> None:
        first = asyncio.create_task(sender.send("1", "one", []))
        await asyncio.sleep(0.2)  # the 429 has come back by now
        await sender.send("2", "two", [])
        await first

    started = time.time()
    _run(work)
    [two] = telegram_emulator.sent(2)
    assert two.at - started >= 0.95


def test_server_errors_and_timeouts_are_retried_and_nothing_is_lost(
        telegram_emulator: Emulator) -> None:
    telegram_emulator.fail_next("sendMessage", 502, times=2)
    telegram_emulator.fail_next("sendMessage", 500)
    telegram_emulator.delay_next("sendMessage", 1.0)  # longer than the read timeout
    _send("one", "two", read_timeout=0.5)
    texts = [m.text for m in telegram_emulator.sent(CHAT)]
    # At-least-once: a timed-out send may have arrived, so "one" may come twice, never zero.
    assert texts[-1] == "two" and 1 <= texts.count("one") <= 2


def test_a_send_that_keeps_failing_is_left_for_later(telegram_emulator: Emulator) -> None:
    telegram_emulator.fail_next("sendMessage", 500, times=3)
    with pytest.raises(RetryLater):
        _send("one", max_tries=3)
    assert telegram_emulator.sent() == []


def test_a_blocked_chat_is_unreachable_and_a_bad_message_rejected(
        telegram_emulator: Emulator) -> None:
    telegram_emulator.block_chat(int(CHAT))
    with pytest.raises(Unreachable):
        _send("hello")
    telegram_emulator.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(Unreachable):
        _send("hello", chat="99")
    telegram_emulator.fail_next("sendMessage", 400,
                                description="Bad Request: can't parse entities")
    with pytest.raises(Rejected):
        _send("hello", chat="99")
    assert telegram_emulator.calls["sendMessage"] == 3  # none of them retried


def test_one_chat_gets_at_most_one_message_a_second_by_default(
        telegram_emulator: Emulator) -> None:
    telegram_emulator.chat_interval = 1.0  # Telegram's own limit
    default = Settings.model_fields["telegram_chat_interval_seconds"].default
    assert default == 1.0
    _send("a", "b", interval=default)
    first, second = (m.at for m in telegram_emulator.sent(CHAT))
    assert second - first >= 0.95
    assert telegram_emulator.too_many_requests == 0


def test_other_chats_are_not_held_up_by_one_busy_chat(telegram_emulator: Emulator) -> None:
    async def work(sender: TelegramSender) -> None:
        await asyncio.gather(*(sender.send("1", f"busy {n}", []) for n in range(4)),
                             *(sender.send(str(chat), "hi", []) for chat in range(2, 12)))

    started = time.time()
    _run(work, interval=0.5)
    busy = [m.at - started for m in telegram_emulator.sent(1)]
    others = [m.at - started for m in telegram_emulator.sent() if m.chat_id != 1]
    assert len(others) == 10 and max(others) < 0.8
    assert busy[-1] >= 1.4  # 4 messages, 0.5 s apart
    assert [m.text for m in telegram_emulator.sent(1)] == [f"busy {n}" for n in range(4)]


def test_a_burst_to_many_chats_stays_under_the_bot_limit(telegram_emulator: Emulator) -> None:
    telegram_emulator.limit_per_second = 30

    async def work(sender: TelegramSender) -> None:
        await asyncio.gather(*(sender.send(str(chat), "hello", []) for chat in range(60)))

    started = time.monotonic()
    _run(work, rate=30)
    elapsed = time.monotonic() - started
    assert len(telegram_emulator.sent()) == 60 and telegram_emulator.too_many_requests == 0
    assert 59 / 30 * 0.95 <= elapsed < 59 / 30 + 1.5


def test_long_texts_are_split_at_telegrams_limit_on_line_or_word_boundaries() -> None:
    text = ("A line of words. " * 40 + "\n") * 20
    parts = split_text(text)
    assert len(parts) == 4 and all(len(p) <= 4096 for p in parts)
    assert all(p.endswith("words.") for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == \
        text.replace(" ", "").replace("\n", "")
    words = split_text("word " * 2000)
    assert all(p.endswith("word") and len(p) <= 4096 for p in words)
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]  # no boundary: a hard cut
    assert split_text("short") == ["short"]


def test_emoji_count_as_telegram_counts_them() -> None:
    parts = split_text("💊" * 3000)  # 6000 UTF-16 units
    assert [telegram_length(p) for p in parts] == [4096, 1904]


def test_a_long_message_arrives_in_parts_with_the_buttons_on_the_last(
        telegram_emulator: Emulator) -> None:
    buttons = [[{"text": "OK", "data": "r:/affirm"}]]

    async def work(sender: TelegramSender) -> int:
        return await sender.send(CHAT, "💊 take it. " * 1000, buttons)

    message_id = _run(work, interval=0.05)
    parts = telegram_emulator.sent(CHAT)
    assert len(parts) == 3 and parts[-1].message_id == message_id
    assert [p.buttons for p in parts] == [[], [], [("OK", "r:/affirm")]]


def test_an_edit_that_changes_nothing_is_fine(telegram_emulator: Emulator) -> None:
    async def work(sender: TelegramSender) -> None:
        message_id = await sender.send(CHAT, "hello", [[{"text": "A", "data": "a"}]])
        await sender.edit(CHAT, message_id, None)  # buttons removed
        await sender.edit(CHAT, message_id, None)  # "message is not modified": fine
        await sender.edit(CHAT, message_id, "hello, edited")

    _run(work)
    [message] = telegram_emulator.sent(CHAT)
    assert message.text == "hello, edited" and message.buttons == [] and message.edited == 2
