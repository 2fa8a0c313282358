"""How fast the sender may go: Telegram's limits (about 30 messages a second per bot, one a
second per chat) and a 429's pause, for one process (`LocalPace`) or shared in Redis by
every process that sends as the bot (`SharedPace`, when `CARELOOP_REDIS_URL` is set).

A message counts against both limits from the moment it leaves until its answer is back
plus the limit's interval (Telegram counts it when it arrives, which the sender cannot see).
A reply (the bridge's answer to a patient) goes before the outbox's messages waiting for its
chat; among messages to different chats the bot's budget is first come, first served, and
the outbox keeps at most one send per sender reserved in it (sender.py), so a reply waits
behind a few sends at most, never behind the queue of reminders.
In Redis each step is one Lua script on Redis's own clock, so processes on several
machines neither race nor disagree about the time; a process that dies mid-send frees its
place after `HOLD_MS`."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

HOLD_MS = 30_000   # longest a send may count as in flight (a crashed sender's place)
POLL_MS = 100      # how often a send waiting on one in flight asks again

SCRIPTS = dict(re.findall(r"^-- script: (\w+)\n(.*?)(?=^-- script: |\Z)",
                          (Path(__file__).with_name("pace.lua")).read_text(), re.M | re.S))


class BotPace:
    """At most `rate` messages in any one second, as Telegram counts them, evenly spaced.

    Each message reserves the next slot, `1 / rate` after the one before, so a task
    woken late on a busy machine costs no throughput (the next slots do not move)."""

    def __init__(self, rate: float) -> None:
        self._spacing = 1 / rate
        self._next_slot = 0.0
        self._most = max(1, math.floor(rate))   # in any one second
        self._in_flight = 0
        self._answered: deque[float] = deque()  # when recent answers came back
        self._change = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """Wait for its slot and for room, then count the request until a second after its
        answer."""
        slot = max(time.monotonic(), self._next_slot)
        self._next_slot = slot + self._spacing
        await asyncio.sleep(slot - time.monotonic())
        async with self._change:
            while True:
                now = time.monotonic()
                while self._answered and self._answered[0] <= now - 1.0:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self._most:
                    break
                if self._answered:  # room again one second after the oldest answer
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._change.wait(),
                                               self._answered[0] + 1.0 - now)
                else:  # all in flight: room once one is answered, and a second later
                    await self._change.wait()
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._change:
                self._in_flight -= 1
                self._answered.append(time.monotonic())
                self._change.notify_all()


class Pace(Protocol):
    def chat(self, chat_id: str, *,
             reply: bool = False) -> contextlib.AbstractAsyncContextManager[None]: ...
    def bot(self) -> contextlib.AbstractAsyncContextManager[None]: ...
    async def pause(self, seconds: float) -> None: ...


class LocalPace:
    """The limits for one process: enough when one process sends as the bot (its messages
to a chat then go in the order they were sent: a reply's precedence needs `SharedPace`)."""

    def __init__(self, rate: float, chat_interval: float) -> None:
        self._bot = BotPace(rate)
        self._chat_interval = chat_interval
        self._chat_next: dict[str, float] = {}
        self._paused_until = 0.0

    @contextlib.asynccontextmanager
    async def chat(self, chat_id: str, *, reply: bool = False) -> AsyncIterator[None]:
        wait = max(self._chat_next.get(chat_id, 0.0), self._paused_until) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            yield
        finally:  # the next one to this chat leaves an interval after the answer
            self._chat_next[chat_id] = time.monotonic() + self._chat_interval

    def bot(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._bot.request()

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class SharedPace:
    """The limits for every process sending as the bot `name`, kept in Redis."""

    def __init__(self, redis: Redis, name: str, rate: float, chat_interval: float) -> None:
        self._redis, self._key = redis, f"careloop:telegram:{name}"
        self._most, self._spacing_ms = max(1, int(rate)), max(1, round(1000 / rate))
        self._chat_interval_ms = round(chat_interval * 1000)
        self._slot = redis.register_script(SCRIPTS["slot"])
        self._bot_script = redis.register_script(SCRIPTS["window"])
        self._answered = redis.register_script(SCRIPTS["answered"])
        self._chat_script = redis.register_script(SCRIPTS["chat"])

    async def _until_zero(self, script: AsyncScript, keys: list[str],
                          args: list[str | int]) -> None:
        """Run `script` until it says go. A wait past a second is on a send still in
        flight (its answer frees the place early) or a 429's pause: asked again often."""
        while wait := int(await script(keys=keys, args=args)):
            await asyncio.sleep((wait if wait <= 1000 else POLL_MS) / 1000)

    @contextlib.asynccontextmanager
    async def chat(self, chat_id: str, *, reply: bool = False) -> AsyncIterator[None]:
        """The chat's turn: one message a second. A `reply` goes before the queued (the
        outbox's) messages waiting for the chat."""
        key, me = f"{self._key}:chat:{chat_id}", secrets.token_hex(8)
        await self._until_zero(self._chat_script,
                               [key, f"{self._key}:pause", f"{key}:replies"],
                               [me, HOLD_MS, "reply" if reply else "queued"])
        try:
            yield
        finally:
            if self._chat_interval_ms:
                await self._redis.set(key, me, px=self._chat_interval_ms)
            else:
                await self._redis.delete(key)

    @contextlib.asynccontextmanager
    async def bot(self) -> AsyncIterator[None]:
        window, me = f"{self._key}:sends", secrets.token_hex(8)
        wait = int(await self._slot(keys=[f"{self._key}:slot"], args=[self._spacing_ms]))
        await asyncio.sleep(wait / 1000)
        await self._until_zero(self._bot_script, [window, f"{self._key}:pause"],
                               [self._most, HOLD_MS, me])
        try:
            yield
        finally:
            await self._answered(keys=[window], args=[me])

    async def pause(self, seconds: float) -> None:
        """A 429: the whole bot waits, in every process."""
        await self._redis.set(f"{self._key}:pause", 1, px=max(1, round(seconds * 1000)))
