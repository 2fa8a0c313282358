"""The one sender to Telegram, used by the bridge's replies and the scheduler's outbox.

It keeps inside Telegram's limits (pace.py): messages evenly spaced at the bot's rate
(about 30/s) and at most one a second to each chat (python-telegram-bot's
`AIORateLimiter` has no per-chat limit for private chats), in this process or, with
`CARELOOP_REDIS_URL`, shared by every process that sends as the bot. A `429` pauses the
whole bot for its `retry_after`; network errors and timeouts are retried with backoff (a
timed-out send may have arrived: at-least-once); `403` means the chat blocked the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from redis.asyncio import Redis
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from assistant import metrics
from assistant.channels.telegram.pace import LocalPace, Pace, SharedPace
from assistant.config import Settings
from assistant.services.outbox import Buttons, Recorded, RetryLater, Unreachable

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


class TelegramSender:
    def __init__(self, bot: Bot, *, rate_per_second: float = 30.0,
                 chat_interval: float = 1.0, pace: Pace | None = None) -> None:
        self.bot = bot
        self.pace = pace or LocalPace(rate_per_second, chat_interval)
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._in_doubt = asyncio.Lock()  # the outbox's sends: one sent and not yet recorded

    @classmethod
    def from_settings(cls, settings: Settings, bot: Bot | None = None) -> TelegramSender:
        """With `CARELOOP_REDIS_URL`, the limits are shared by every process sending as
        this bot (the bridges' replies and every outbox drain)."""
        bot = bot or make_bot(settings)
        rate, interval = settings.telegram_rate_per_second, settings.telegram_chat_interval_seconds
        pace: Pace | None = None
        if settings.redis_url:
            name = bot.token.split(":", 1)[0]   # the bot's id: the token's public part
            pace = SharedPace(Redis.from_url(settings.redis_url), name, rate, interval)
        return cls(bot, rate_per_second=rate, chat_interval=interval, pace=pace)

    async def send(self, chat_id: str, text: str, buttons: Buttons, *,
                   recorded: Recorded | None = None) -> int:
        """Send a (possibly long) message; returns the id of its last part. With
        `recorded` (the outbox's), the message is the only one of this sender between
        leaving and `recorded(its id)` being done: a crash repeats at most that one."""
        parts = split_text(text)
        message_id = 0
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            message_id = await self._send_one(chat_id, part, keyboard(buttons) if last else None,
                                              recorded if last else None,
                                              one_at_a_time=recorded is not None)
        return message_id

    async def _send_one(self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None,
                        recorded: Recorded | None = None, *, one_at_a_time: bool = False) -> int:
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        in_doubt = self._in_doubt if one_at_a_time else contextlib.nullcontext()
        async with lock:  # one message at a time per chat, in order
            for attempt in range(MAX_TRIES):
                try:
                    # The chat's wait first, outside `in_doubt`; the bot's inside, so
                    # that a crash leaves at most one send counted in the bot's budget.
                    # A reply (not the outbox's) goes before the outbox's to its chat.
                    async with self.pace.chat(chat_id, reply=not one_at_a_time), in_doubt, \
                            self.pace.bot():
                        message = await self.bot.send_message(chat_id=chat_id, text=text,
                                                               reply_markup=markup)
                        if recorded is not None:
                            await recorded(int(message.message_id))
                    return int(message.message_id)
                except RetryAfter as exc:
                    wait = _seconds(exc.retry_after)
                    log.warning("telegram 429: waiting %.1f s", wait)
                    metrics.THROTTLED.labels(channel="telegram").inc()
                    await self.pace.pause(wait)
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
