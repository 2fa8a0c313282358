"""Benchmark: reminders delivered per second through the outbox drain and the Telegram
sender, against the Bot API emulator's limit (target ≥ 0.95 of it, no 429 provoked),
and their lateness (target p99 ≤ 2 s when under the limit).

Baseline, measured in the same run: the same path with no limit anywhere (what PTB,
the emulator and the database can do on this machine). With `--senders N`, the burst again
through N drains at once (each its own thread, event loop and Bot, as N processes), sharing
the bot's budget in a private Redis (redis-server on PATH), beside one sender alone.

    .venv/bin/python -m bench.telegram_send [--messages 5000] [--limit 30] [--senders 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import redis
from sqlalchemy import insert

from assistant.channels.telegram.sender import TelegramSender
from assistant.config import get_settings
from assistant.services import outbox
from assistant.storage.db import make_engine, utcnow
from assistant.storage.migrate import upgrade
from assistant.storage.models import CareTeam, ChatLink, OutboxMessage, OutboxStatus, Patient
from tests.telegram_emulator import Emulator, Server

TOKEN = "123456:BENCH-token-for-the-local-emulator"


def seed(url: str, n: int, spread: float) -> None:
    """`n` linked patients with one message each, due together (spread 0) or spread over
    `spread` seconds from now."""
    engine = make_engine(url)
    upgrade(engine=engine)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(CareTeam), [{"name": "Bench", "created_at": now, "on_call": [],
                                          "reading_thresholds": {},
                                          "missed_alert_after": 2}])
        conn.execute(insert(Patient), [
            {"id": i + 1, "team_id": 1, "chat_ref": f"{i:032x}", "display_name": f"P{i}",
             "timezone": "UTC", "language": "en", "status": "active", "conditions": [],
             "goals": [], "advice_per_day": 0, "created_at": now} for i in range(n)])
        conn.execute(insert(ChatLink), [
            {"patient_id": i + 1, "channel": "telegram", "chat_id": str(10_000 + i),
             "linked_at": now} for i in range(n)])
        conn.execute(insert(OutboxMessage), [
            {"patient_id": i + 1, "kind": "reminder", "priority": 0, "text": f"💊 dose {i}",
             "buttons": [], "status": "pending", "attempts": 0, "created_at": now,
             "not_before": now + timedelta(seconds=spread * i / n)} for i in range(n)])
    engine.dispose()


def deliver(emulator: Emulator, n: int, senders: int = 1) -> float:
    """Seconds until the emulator has all `n`, through `senders` drains at once."""
    async def drain() -> None:
        sender = TelegramSender.from_settings(get_settings())
        stop = asyncio.Event()
        async with sender.bot:
            task = asyncio.create_task(outbox.drain(sender.send, channel="telegram", stop=stop,
                                                    idle_seconds=0.02))
            while len(emulator.sent) < n:
                await asyncio.sleep(0.01)
            stop.set()
            await task

    started = time.monotonic()
    threads = [threading.Thread(target=asyncio.run, args=(drain(),)) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        while True:
            with contextlib.suppress(redis.ConnectionError):
                client.ping()
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait()


def run(n: int, limit: float | None, rate: float, spread: float = 0.0, senders: int = 1,
        redis_url: str = "") -> tuple[float, Emulator, list[float]]:
    # Telegram's limits exactly: `limit` a second for the bot, one a second per chat.
    emulator = Emulator(TOKEN, limit, chat_interval=1.0 if limit else None)
    with tempfile.TemporaryDirectory() as tmp, Server(emulator):
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        seed(url, n, spread)
        os.environ.update(CARELOOP_DATABASE_URL=url, CARELOOP_TELEGRAM_TOKEN=TOKEN,
                          CARELOOP_TELEGRAM_API_URL=emulator.base_url,
                          CARELOOP_TELEGRAM_RATE_PER_SECOND=str(rate),
                          CARELOOP_REDIS_URL=redis_url)
        get_settings.cache_clear()
        from assistant.storage.db import _engine_for

        _engine_for.cache_clear()
        elapsed = deliver(emulator, n, senders)
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(OutboxMessage.__table__.select()).mappings().all()  # type: ignore[attr-defined]
        lateness = [(r["sent_at"] - r["not_before"]).total_seconds() for r in rows
                    if r["status"] == OutboxStatus.sent]
        engine.dispose()
        return elapsed, emulator, lateness


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)  # the burst
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("--senders", type=int, default=1)
    args = parser.parse_args()
    n, limit = args.messages, args.limit

    base_elapsed, _, _ = run(n, None, rate=1000)
    print(f"baseline, no limits: {n / base_elapsed:7.1f} messages/s "
          f"({n} messages in {base_elapsed:.1f} s)")

    elapsed, emulator, _ = run(n, limit, rate=limit)
    achieved = n / elapsed
    print(f"burst of {n} due at once, emulator limit {limit:g}/s: {achieved:7.1f} messages/s "
          f"= {achieved / limit:.3f} of the limit (target ≥ 0.95); "
          f"429s provoked: {emulator.too_many_requests} (target 0)")

    if args.senders > 1:
        with redis_server() as url:
            redis.Redis.from_url(url).flushdb()
            elapsed, emulator, lateness = run(n, limit, rate=limit, senders=args.senders,
                                              redis_url=url)
        achieved = n / elapsed
        quantiles = statistics.quantiles(lateness, n=100)
        print(f"the same burst through {args.senders} senders sharing Redis: "
              f"{achieved:7.1f} messages/s = {achieved / limit:.3f} of the limit (one sender "
              f"alone above); 429s provoked: {emulator.too_many_requests}; lateness p50 "
              f"{quantiles[49]:.1f} s, p99 {quantiles[98]:.1f} s")

    under = int(limit * 0.8 * 20)  # 20 s of load at 80 % of the limit
    _, emulator, lateness = run(under, limit, rate=limit, spread=20.0)
    quantiles = statistics.quantiles(lateness, n=100)
    print(f"under the limit ({under} messages over 20 s): lateness p50 {quantiles[49]:.2f} s, "
          f"p99 {quantiles[98]:.2f} s (target p99 ≤ 2 s); 429s: {emulator.too_many_requests}")


if __name__ == "__main__":
    main()
