"""The one sender to Telegram, used by the bridge's replies and the scheduler's outbox.

It keeps inside Telegram's limits: messages evenly spaced at the bot's rate (about
30/s) and at most one a second to each chat (python-telegram-bot's `AIORateLimiter`
has no per-chat limit for private chats). Telegram counts a message when it arrives,
which the sender cannot see, only that it is somewhere between the request leaving
and its answer coming back; so a message counts against both limits from the moment
it leaves until its answer is back plus the limit's interval. No delay on the way
(a busy machine, a slow network) then makes a second hold one message too many, at
the cost of one round trip per interval. A `429` is waited out for its
`retry_after`; network errors and timeouts are retried with backoff (a timed-out send
may have arrived: at-least-once); `403` means the chat blocked the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from assistant import metrics
from assistant.config import Settings
from assistant.services.outbox import Buttons, RetryLater, Unreachable

log = logging.getLogger(__name__)

MAX_LENGTH = 4096
MAX_TRIES = 5


def make_bot(settings: Settings) -> Bot:
    """A Bot on the configured Bot API (Telegram's, a local Bot API server, an emulator)."""
    if settings.telegram_token is None:
        raise RuntimeError("CARELOOP_TELEGRAM_TOKEN is not set")
    request = HTTPXRequest(connection_pool_size=64, connect_timeout=5, read_timeout=10,
                           write_timeout=10, pool_timeout=10)
    return Bot(settings.telegram_token.get_secret_value(), base_url=settings.telegram_api_url,
               base_file_url=settings.telegram_api_url.replace("/bot", "/file/bot"),
               request=request, get_updates_request=HTTPXRequest(read_timeout=40))


def split_text(text: str, limit: int = MAX_LENGTH) -> list[str]:
    """Pieces of at most `limit` characters, cut at a line break or space when possible."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    return [*parts, text] if text or not parts else parts


def keyboard(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["data"])
                                  for b in row] for row in buttons])


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


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


class TelegramSender:
    def __init__(self, bot: Bot, *, rate_per_second: float = 30.0,
                 chat_interval: float = 1.0) -> None:
        self.bot = bot
        self._bot_pace = BotPace(rate_per_second)
        self._chat_interval = chat_interval
        self._chat_next: dict[str, float] = {}
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._paused_until = 0.0  # after a 429, the whole bot waits

    @classmethod
    def from_settings(cls, settings: Settings, bot: Bot | None = None) -> TelegramSender:
        return cls(bot or make_bot(settings), rate_per_second=settings.telegram_rate_per_second,
                   chat_interval=settings.telegram_chat_interval_seconds)

    async def send(self, chat_id: str, text: str, buttons: Buttons) -> int:
        """Send a (possibly long) message; returns the id of its last part."""
        parts = split_text(text)
        message_id = 0
        for n, part in enumerate(parts):
            markup = keyboard(buttons) if n == len(parts) - 1 else None
            message_id = await self._send_one(chat_id, part, markup)
        return message_id

    async def _send_one(self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None) -> int:
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        async with lock:  # one message at a time per chat, in order
            for attempt in range(MAX_TRIES):
                await self._wait_for_chat(chat_id)
                try:
                    async with self._bot_pace.request():
                        try:
                            message = await self.bot.send_message(chat_id=chat_id, text=text,
                                                                   reply_markup=markup)
                        finally:  # the next one to this chat leaves an interval after the answer
                            self._chat_next[chat_id] = time.monotonic() + self._chat_interval
                    return int(message.message_id)
                except RetryAfter as exc:
                    wait = _seconds(exc.retry_after)
                    log.warning("telegram 429: waiting %.1f s", wait)
                    metrics.THROTTLED.labels(channel="telegram").inc()
                    self._paused_until = max(self._paused_until, time.monotonic() + wait)
                except Forbidden as exc:
                    raise Unreachable(str(exc)) from exc
                except BadRequest as exc:
                    if "chat not found" in str(exc).lower():
                        raise Unreachable(str(exc)) from exc
                    raise
                except (TimedOut, NetworkError) as exc:
                    log.warning("telegram %s; retrying", type(exc).__name__)
                    await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt))
            raise RetryLater("telegram kept failing", after=30)

    async def _wait_for_chat(self, chat_id: str) -> None:
        wait = max(self._chat_next.get(chat_id, 0.0), self._paused_until) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
