"""When each chat's reply first asked for its turn in the bot's shared pace (Redis), seen
through Redis's keyspace notifications: for tests/integration/test_scale_out.py, whose
order check ("a reply goes before the chat's reminders still waiting") starts there.

The pace's chat script marks a waiting reply in the key `…:chat:CHAT:replies`
(channels/telegram/pace.lua); Redis announces each change of that key as it executes the
script. The first announcement for a chat is the instant its reply asked, on the test's
own monotonic clock (as the emulator's `Sent.accepted`), late by the announcement's trip
only."""

from __future__ import annotations

import threading
import time

import redis

PATTERN = "__keyspace@*__:careloop:telegram:*:chat:*:replies"


class ReplyAsks:
    """Watch replies ask, from `__enter__` to `__exit__`, in a thread: `asked[chat_id]`."""

    def __init__(self, redis_url: str) -> None:
        self._redis = redis.Redis.from_url(redis_url)
        self.asked: dict[int, float] = {}
        self._stop, self._ready = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(PATTERN)
        self._ready.set()
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=0.1)
            if message and message["data"] == b"set":
                chat = int(message["channel"].decode().rsplit(":", 2)[-2])
                self.asked.setdefault(chat, time.monotonic())
        pubsub.close()

    def __enter__(self) -> ReplyAsks:
        self._redis.config_set("notify-keyspace-events", "K$")  # string commands' keys
        self._thread.start()
        assert self._ready.wait(10), "could not watch Redis's keyspace"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._redis.config_set("notify-keyspace-events", "")
        self._redis.close()
