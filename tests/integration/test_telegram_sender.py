"""The one sender and the outbox drain against the Bot API emulator: Telegram's limits
held, 429s waited out, errors retried without loss, blocked chats given up on."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlmodel import select
from telegram import Bot
from telegram.request import HTTPXRequest

from assistant.channels.telegram.sender import TelegramSender, split_text
from assistant.config import Settings, get_settings
from assistant.services import enrolment, outbox, patients, teams
from assistant.storage.db import session
from assistant.storage.models import (
    Alert,
    AlertKind,
    ChatLink,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from tests.integration.test_telegram_bridge import deliver_outbox
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import TOKEN

CHAT = "5151"


def _send(*messages: str, chat: str = CHAT, interval: float = 0.05,
          read_timeout: float = 10.0) -> list[int]:
    async def run() -> list[int]:
        settings = get_settings()
        bot = Bot(settings.telegram_token.get_secret_value(),  # type: ignore[union-attr]
                  base_url=settings.telegram_api_url,
                  request=HTTPXRequest(read_timeout=read_timeout, connection_pool_size=8))
        sender = TelegramSender(bot, chat_interval=interval)
        async with bot:
            return [await sender.send(chat, text, []) for text in messages]

    return asyncio.run(run())


def test_a_429_is_waited_out_for_its_retry_after(telegram_emulator: Emulator) -> None:
    telegram_emulator.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    [message_id] = _send("hello")
    assert time.monotonic() - started >= 1.0
    assert [m.message_id for m in telegram_emulator.messages_to(int(CHAT))] == [message_id]


def test_server_errors_and_timeouts_are_retried_and_nothing_is_lost(
        telegram_emulator: Emulator) -> None:
    telegram_emulator.fail_next("sendMessage", 502, times=2)
    telegram_emulator.fail_next("sendMessage", 500)
    telegram_emulator.delay_next("sendMessage", 1.5)  # longer than the read timeout
    _send("one", "two", read_timeout=0.5)
    texts = [m.text for m in telegram_emulator.messages_to(int(CHAT))]
    # At-least-once: a timed-out send may have arrived, so "one" may come twice, never zero.
    assert texts[-1] == "two" and 1 <= texts.count("one") <= 2


def test_one_chat_gets_at_most_one_message_a_second_by_default(
        telegram_emulator: Emulator) -> None:
    telegram_emulator.chat_interval = 1.0
    _send("a", "b", "c", interval=Settings.model_fields["telegram_chat_interval_seconds"].default)
    times = [m.at for m in telegram_emulator.messages_to(int(CHAT))]
    assert all(later - earlier >= 0.95 for earlier, later in zip(times, times[1:], strict=False))
    assert telegram_emulator.too_many_requests == 0


def test_the_emulator_refuses_the_first_message_over_either_limit(
        telegram_emulator: Emulator) -> None:
    import httpx

    telegram_emulator.limit_per_second, telegram_emulator.chat_interval = 5, 1.0
    url = f"{telegram_emulator.base_url}{TOKEN}/sendMessage"

    async def burst(chats: list[int]) -> list[int]:
        async with httpx.AsyncClient() as client:
            answers = await asyncio.gather(*(client.post(url, json={"chat_id": chat, "text": "hi"})
                                             for chat in chats))
        return sorted(answer.status_code for answer in answers)

    assert asyncio.run(burst([100, 100])) == [200, 429]  # one chat: the second is too soon
    assert asyncio.run(burst([101, 102, 103, 104, 105])) == [200] * 4 + [429]  # 6th in 1 s


def test_a_message_held_up_on_the_way_does_not_make_one_too_many_in_a_second(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    telegram_emulator.limit_per_second = 5
    monkeypatch.setenv("CARELOOP_TELEGRAM_RATE_PER_SECOND", "5")
    get_settings.cache_clear()
    telegram_emulator.delay_next("sendMessage", 0.3)  # the first reaches Telegram late
    _linked_patients(12)
    deliver_outbox(timeout=30)
    assert len(telegram_emulator.sent) == 12
    assert telegram_emulator.too_many_requests == 0


def test_a_message_held_up_on_the_way_does_not_crowd_the_next_one_to_its_chat(
        telegram_emulator: Emulator) -> None:
    telegram_emulator.chat_interval = 1.0
    telegram_emulator.delay_next("sendMessage", 0.3)  # the first reaches Telegram late
    _send("a", "b", interval=1.0)
    assert [m.text for m in telegram_emulator.messages_to(int(CHAT))] == ["a", "b"]
    assert telegram_emulator.too_many_requests == 0


def test_long_answers_are_split_at_telegrams_limit() -> None:
    text = ("A line of words. " * 40 + "\n") * 20
    parts = split_text(text)
    assert len(parts) == 4 and all(len(p) <= 4096 for p in parts)
    assert "".join(p.replace("\n", "").replace(" ", "") for p in parts) == \
        text.replace("\n", "").replace(" ", "")


def _linked_patients(count: int) -> list[int]:
    ids = []
    with session() as db:
        team = teams.add_team(db, name="Burst", actor="test")
        for n in range(count):
            patient = patients.add_patient(db, team=team, name=f"P{n}", timezone="UTC",
                                           actor="test")
            db.add(ChatLink(patient_id=patient.id, chat_id=str(9000 + n)))
            db.add(OutboxMessage(patient_id=patient.id, kind=MessageKind.advice,
                                 text=f"hello {n}"))
            ids.append(patient.id)
    return ids


def test_a_burst_to_many_chats_stays_under_the_bot_limit_and_loses_nothing(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    telegram_emulator.limit_per_second = 20
    monkeypatch.setenv("CARELOOP_TELEGRAM_RATE_PER_SECOND", "20")
    get_settings.cache_clear()
    _linked_patients(50)
    started = time.monotonic()
    deliver_outbox(timeout=30)
    elapsed = time.monotonic() - started
    assert len(telegram_emulator.sent) == 50
    assert telegram_emulator.too_many_requests == 0
    assert elapsed >= 49 / 20 * 0.9


def test_a_blocked_chat_is_marked_unreachable_and_not_retried(
        telegram_emulator: Emulator, db_url: str) -> None:
    [patient_id] = _linked_patients(1)
    telegram_emulator.block_chat(9000)
    deliver_outbox()
    with session() as db:
        [message] = db.exec(select(OutboxMessage)).all()
        assert message.status == OutboxStatus.failed
        link = enrolment.link_of(db, patient_id)
        assert link is not None and link.unreachable_at is not None
        [alert] = db.exec(select(Alert)).all()
        assert alert.kind == AlertKind.unreachable
        assert outbox.claim(db, channel="telegram", limit=10) == []
    assert telegram_emulator.calls["sendMessage"] == 1


def test_a_storm_of_429s_5xx_and_timeouts_delays_but_loses_nothing(
        telegram_emulator: Emulator, db_url: str) -> None:
    telegram_emulator.fail_next("sendMessage", 429, times=6, retry_after=1)
    telegram_emulator.fail_next("sendMessage", 502, times=3)
    ids = _linked_patients(12)
    deliver_outbox(timeout=60)
    assert sorted(m.chat_id for m in telegram_emulator.sent) == [9000 + n for n in range(12)]
    with session() as db:
        statuses = db.exec(select(OutboxMessage.status)).all()
        assert statuses == [OutboxStatus.sent] * len(ids)


def test_a_sent_message_the_busy_database_cannot_record_yet_is_not_sent_again(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram took the message while the database was locked: its outcome waits for the
    database, however long, instead of the claim expiring and the message going out twice."""
    import sqlite3
    from datetime import timedelta

    from assistant.storage.db import utcnow
    from tests.conftest import reset_caches
    from tests.telegram_fixtures import Running

    monkeypatch.setenv("CARELOOP_DB_BUSY_TIMEOUT_SECONDS", "0.2")
    reset_caches()
    _linked_patients(1)

    async def drain(settings: Settings, stop: asyncio.Event) -> None:
        sender = TelegramSender.from_settings(settings)
        async with sender.bot:
            await outbox.drain(sender.send, channel="telegram", stop=stop, idle_seconds=0.05,
                               lease=timedelta(seconds=1))

    def message() -> OutboxMessage:
        with session() as db:
            return db.exec(select(OutboxMessage)).one()

    held = telegram_emulator.hold_next("sendMessage")
    with Running(drain):
        assert held.arrived.wait(timeout=30)
        lock = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
        try:
            held.release()
            telegram_emulator.wait_for(9000, timeout=30)  # Telegram has it
            claimed_until = message().claimed_until
            assert claimed_until is not None
            while utcnow() < claimed_until + timedelta(seconds=1):  # the claim has expired
                time.sleep(0.05)
        finally:
            lock.rollback()
            lock.close()
        deadline = time.monotonic() + 30
        while message().status != OutboxStatus.sent:
            assert time.monotonic() < deadline, "the send was never recorded"
            time.sleep(0.05)
    assert [m.text for m in telegram_emulator.sent] == ["hello 0"]



def test_an_outbox_send_is_recorded_before_the_next_one_leaves(
        telegram_emulator: Emulator) -> None:
    """A sender killed mid-send repeats at most one message: the outbox's sends go out
    concurrently, yet none leaves while another is between Telegram and its record."""
    seen: list[tuple[int, int]] = []  # messages the emulator had: as a record began, ended

    async def record(message_id: int) -> None:
        before = len(telegram_emulator.sent)
        await asyncio.sleep(0.05)  # a slow database
        seen.append((before, len(telegram_emulator.sent)))

    async def run() -> None:
        sender = TelegramSender.from_settings(get_settings())
        async with sender.bot:
            await asyncio.gather(*(sender.send(str(6200 + n), "Time for your tablet", [],
                                               recorded=record) for n in range(5)))

    asyncio.run(run())
    assert seen == [(n, n) for n in range(1, 6)]


def test_a_chat_with_several_messages_waiting_holds_up_only_itself(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drain claims more as those in hand go out: the other chats' messages pass the
    one chat whose messages must wait a second each."""
    telegram_emulator.chat_interval = 1.0
    monkeypatch.setenv("CARELOOP_TELEGRAM_CHAT_INTERVAL_SECONDS", "1.0")
    get_settings.cache_clear()
    [busy, *_] = _linked_patients(30)  # chats 9000..9029, one message each
    with session() as db:
        for n in range(3):  # three more to chat 9000, claimed first
            db.add(OutboxMessage(patient_id=busy, kind=MessageKind.reminder, priority=0,
                                 text=f"dose {n}"))

    async def drain() -> None:
        sender = TelegramSender.from_settings(get_settings())
        stop = asyncio.Event()
        async with sender.bot:
            task = asyncio.create_task(outbox.drain(sender.send, channel="telegram", stop=stop,
                                                    batch=8, idle_seconds=0.05))
            while len(telegram_emulator.sent) < 33:
                await asyncio.sleep(0.05)
            stop.set()
            await task

    asyncio.run(drain())
    order = [m.chat_id for m in telegram_emulator.sent]
    assert order[-1] == 9000  # the busy chat's last waited its seconds; the rest went by
    assert sorted(order[:-2]) == [9000, 9000, *range(9001, 9030)]
    assert telegram_emulator.too_many_requests == 0
