"""Benchmark: a burst of reminders due at the same moment through scheduler workers and
senders as real processes (`careloop run --only scheduler|sender`) on one PostgreSQL and
one Redis, against the Bot API emulator held strictly to the bot's limit (30 messages a
second and one a second per chat, by default Telegram's).

Printed for one sender alone, then for `--senders N` in the same run (the baseline):
delivered messages a second against the limit (target ≥ 0.95 with several senders),
lateness p50/p99 (from the dose's due time to the emulator's receipt), 429s provoked and
duplicates. PostgreSQL: CARELOOP_TEST_POSTGRES_URL, else a private server (initdb);
Redis: redis-server on PATH.

    .venv/bin/python -m bench.scale_out [--reminders 2400] [--per-chat 4] [--senders 2]
                                        [--schedulers 3] [--rate 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import redis
from sqlalchemy.engine import make_url

from assistant.storage.db import make_engine, utcnow
from assistant.storage.migrate import upgrade
from bench.telegram_send import redis_server
from tests.conftest import _pg_admin, running_postgres
from tests.scale_out import (
    Fleet,
    busiest_second,
    closest_in_a_chat,
    make_due,
    queued,
    reminders,
    seed_patients,
    unsent,
)
from tests.telegram_emulator import Emulator, Server

TOKEN = "123456:BENCH-token-for-the-local-emulator"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fresh_database(server: str, name: str) -> str:
    _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}"')
    _pg_admin(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    upgrade(engine=make_engine(url))
    return url


def burst(server: str, redis_url: str, args: argparse.Namespace, senders: int,
          logs: Path) -> None:
    """One burst through `senders` senders; prints its figures."""
    chats = args.reminders // args.per_chat
    total = chats * args.per_chat
    url = fresh_database(server, f"careloop_bench_{senders}")
    seed_patients(url, chats, args.per_chat)
    redis.Redis.from_url(redis_url).flushdb()
    emulator = Emulator(TOKEN, args.rate, chat_interval=1.0)
    env = {"CARELOOP_DATABASE_URL": url, "CARELOOP_REDIS_URL": redis_url,
           "CARELOOP_TELEGRAM_TOKEN": TOKEN, "CARELOOP_TELEGRAM_RATE_PER_SECOND": str(args.rate),
           "CARELOOP_TELEGRAM_CHAT_INTERVAL_SECONDS": "1.0", "CARELOOP_SCHEDULER_SENDS": "false",
           "CARELOOP_SCHEDULER_TICK_SECONDS": "0.5", "CARELOOP_LOG_LEVEL": "INFO",
           "CARELOOP_DATA_DIR": str(logs / "var"), "CARELOOP_ENVIRONMENT": "test"}
    with Server(emulator), Fleet(logs / f"senders-{senders}", {
            **env, "CARELOOP_TELEGRAM_API_URL": emulator.base_url}) as fleet:
        for n in range(args.schedulers):
            fleet.start(f"scheduler{n}", "scheduler")
        for n in range(senders):
            fleet.start(f"sender{n}", "sender")
        fleet.wait_started()
        due = utcnow().replace(microsecond=0)
        make_due(url, chats, args.per_chat, due)
        started, shown, cpu0 = time.monotonic(), 0.0, time.process_time()
        while len(reminders(emulator)) < total or unsent(url):
            time.sleep(0.2)
            if time.monotonic() - shown >= args.progress:
                shown = time.monotonic()
                print(f"  {shown - started:5.0f} s: {queued(url)} queued, "
                      f"{len(emulator.sent)} sent", flush=True)
        sent = list(emulator.sent)
        cpu = {name: cpu_seconds(p.pid) for name, p in fleet.running.items()}
        print("  CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) +
              f", this process (the emulator) {time.process_time() - cpu0:.1f}, over "
              f"{time.monotonic() - started:.0f} s")
    first, last = min(m.accepted for m in sent), max(m.accepted for m in sent)
    achieved = (len(sent) - 1) / (last - first)
    lateness = sorted(m.at - due.timestamp() for m in sent)
    quantiles = statistics.quantiles(lateness, n=100)
    seen = reminders(emulator)
    print(f"{senders} sender(s), {args.schedulers} scheduler workers: {total} reminders "
          f"({chats} chats × {args.per_chat}) at {achieved:6.1f} messages/s = "
          f"{achieved / args.rate:.3f} of the limit; lateness p50 {quantiles[49]:.1f} s, "
          f"p99 {quantiles[98]:.1f} s; 429s {emulator.too_many_requests}; duplicates "
          f"{sum(c - 1 for c in seen.values())}; busiest second {busiest_second(sent)}, "
          f"closest two in a chat {closest_in_a_chat(sent):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=2400)
    parser.add_argument("--per-chat", type=int, default=4)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--schedulers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between lines")
    parser.add_argument("--only-several", action="store_true",
                        help="skip the one-sender baseline")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    args = parser.parse_args()
    with running_postgres() as server, redis_server() as redis_url, \
            tempfile.TemporaryDirectory() as tmp:
        logs = args.logs or Path(tmp)
        if not args.only_several:
            burst(server, redis_url, args, 1, logs)
        if args.senders > 1:
            burst(server, redis_url, args, args.senders, logs)


if __name__ == "__main__":
    main()
