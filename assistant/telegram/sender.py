"""The one sender to Telegram, used by the bridge's replies and the scheduler's outbox.

It keeps inside Telegram's limits: messages evenly spaced at the bot's rate (about
30/s) and at most one a second to each chat (python-telegram-bot's `AIORateLimiter`
has no per-chat limit for private chats). A `429` is waited out for its
`retry_after`, by the whole bot; network errors and timeouts are retried with a
bounded backoff (a timed-out send may have arrived: at-least-once).

    Errors raised by `TelegramSender.send` (defined in `assistant.outbox`, shared with
    the console channel):
     ├── Unreachable   403 (blocked, deactivated) or "chat not found": stop writing
     ├── Rejected      any other 400: this message can never be sent as it is
     └── RetryLater    Telegram kept failing after the retries: try again later
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from assistant.outbox import Buttons, Rejected, RetryLater, Unreachable
from assistant.settings import Settings

__all__ = ["MAX_LENGTH", "Rejected", "RetryLater", "TelegramSender", "Unreachable",
           "keyboard", "make_bot", "split_text", "telegram_length"]

log = logging.getLogger(__name__)

MAX_LENGTH = 4096       # Telegram's limit for a message's text
MAX_CALLBACK_DATA = 64  # bytes
MAX_TRIES = 5
# Chats quiet for this long are forgotten by the pacer (it holds no other state).
_FORGET_AFTER = 60.0


def make_bot(settings: Settings) -> Bot:
    """A Bot on the configured Bot API (Telegram's, a local Bot API server, an emulator)."""
    if settings.telegram_token is None:
        raise RuntimeError("CARELOOP_TELEGRAM_TOKEN is not set")
    request = HTTPXRequest(connection_pool_size=64, connect_timeout=5, read_timeout=10,
                           write_timeout=10, pool_timeout=10)
    # getUpdates long-polls: its read timeout must outlast the poll timeout.
    return Bot(settings.telegram_token.get_secret_value(), base_url=settings.telegram_api_url,
               base_file_url=settings.telegram_api_url.replace("/bot", "/file/bot"),
               request=request, get_updates_request=HTTPXRequest(read_timeout=40))


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The number of characters of `text` that fit in `limit` UTF-16 units."""
    if telegram_length(text[:limit]) <= limit:
        return min(len(text), limit)
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if telegram_length(text[:mid]) <= limit else (low, mid - 1)
    return low


def split_text(text: str, limit: int = MAX_LENGTH) -> list[str]:
    """Pieces of at most `limit` (as Telegram counts), cut at a line break, else at a space,
    when one falls in the second half of the piece."""
    parts: list[str] = []
    while telegram_length(text) > limit:
        fit = _fit(text, limit)
        cut = text.rfind("\n", 0, fit + 1)
        if cut <= fit // 2:
            cut = text.rfind(" ", 0, fit + 1)
        if cut <= fit // 2:
            cut = fit
        if cut == 0:  # one character wider than the limit: cannot happen for limit >= 2
            cut = 1
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n ")
    if not parts:
        return [text]
    return [*parts, text.rstrip()] if text.strip() else parts


def keyboard(buttons: Buttons) -> InlineKeyboardMarkup | None:
    """Our `[[{"text", "data"}]]` rows as an inline keyboard (None for no buttons)."""
    rows = [[InlineKeyboardButton(b["text"], callback_data=b["data"]) for b in row]
            for row in buttons if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _Spacing:
    """Evenly spaced slots, at most `rate` a second and no bursts; a 429 pushes them back."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    def hold_until(self, moment: float) -> None:
        self._next = max(self._next, moment)

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval  # reserved before sleeping: callers queue up
        if slot > now:
            await asyncio.sleep(slot - now)


class TelegramSender:
    """Sends text (with inline buttons) to chats, paced per bot and per chat.

    One instance per process and event loop: the pacing lives in it."""

    def __init__(self, bot: Bot, *, rate_per_second: float = 30.0, chat_interval: float = 1.0,
                 max_tries: int = MAX_TRIES, backoff: float = 0.5) -> None:
        self.bot = bot
        self.chat_interval = chat_interval
        self.max_tries = max_tries
        self.backoff = backoff
        self.retries_after_429 = 0  # how often Telegram said "too many requests"
        self._bot_slots = _Spacing(rate_per_second)
        self._chat_next: dict[str, float] = {}
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._forgot_at = time.monotonic()

    @classmethod
    def from_settings(cls, settings: Settings, bot: Bot | None = None, *,
                      max_tries: int = MAX_TRIES, backoff: float = 0.5) -> TelegramSender:
        return cls(bot or make_bot(settings), rate_per_second=settings.telegram_rate_per_second,
                   chat_interval=settings.telegram_chat_interval_seconds, max_tries=max_tries,
                   backoff=backoff)

    async def send(self, chat_id: str, text: str, buttons: Buttons) -> int:
        """Send a message, in several parts when longer than Telegram allows (the buttons on
        the last); returns Telegram's message id of the last part."""
        parts = split_text(text or "…")
        message_id = 0
        for n, part in enumerate(parts):
            markup = keyboard(buttons) if n == len(parts) - 1 else None
            message_id = await self._call(chat_id, partial(
                self.bot.send_message, chat_id=chat_id, text=part, reply_markup=markup))
        return message_id

    async def edit(self, chat_id: str, message_id: int, text: str | None,
                   buttons: Buttons | None = None) -> None:
        """Replace a sent message's text (None: keep it) and buttons (None or []: remove)."""
        markup = keyboard(buttons or [])
        request: Callable[[], Awaitable[object]]
        if text is None:
            request = partial(self.bot.edit_message_reply_markup, chat_id=chat_id,
                              message_id=message_id, reply_markup=markup)
        else:
            request = partial(self.bot.edit_message_text, split_text(text)[0], chat_id=chat_id,
                              message_id=message_id, reply_markup=markup)
        await self._call(chat_id, request, paced=False)

    async def _call(self, chat_id: str, request: Callable[[], Awaitable[object]], *,
                    paced: bool = True) -> int:
        """Run one Bot API request with the limits and retries; the message id sent, or 0."""
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        async with lock:  # one request at a time per chat, in order
            for attempt in range(self.max_tries):
                await self._pace(chat_id, paced)
                try:
                    result = await request()
                except RetryAfter as exc:
                    wait = _seconds(exc.retry_after)
                    self.retries_after_429 += 1
                    log.warning("telegram 429: the bot waits %.1f s", wait)
                    self._bot_slots.hold_until(time.monotonic() + wait)
                    continue
                except Forbidden as exc:
                    raise Unreachable(str(exc)) from exc
                except BadRequest as exc:  # before NetworkError: BadRequest is one of them
                    reason = str(exc).lower()
                    if "chat not found" in reason or "user is deactivated" in reason:
                        raise Unreachable(str(exc)) from exc
                    if "message is not modified" in reason:
                        return 0  # an edit that changes nothing: already as wanted
                    raise Rejected(str(exc)) from exc
                except (TimedOut, NetworkError) as exc:
                    log.warning("telegram %s (try %d)", type(exc).__name__, attempt + 1)
                    if attempt + 1 < self.max_tries:
                        await asyncio.sleep(min(30.0, self.backoff * 2 ** attempt))
                    continue
                return int(getattr(result, "message_id", 0) or 0)
            raise RetryLater(f"telegram kept failing after {self.max_tries} tries", after=30)

    async def _pace(self, chat_id: str, paced: bool) -> None:
        if paced:
            wait = self._chat_next.get(chat_id, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        await self._bot_slots.wait()
        now = time.monotonic()
        if paced:
            self._chat_next[chat_id] = now + self.chat_interval
        if now - self._forgot_at > _FORGET_AFTER:
            self._forget(now)

    def _forget(self, now: float) -> None:
        self._forgot_at = now
        for chat_id, at in list(self._chat_next.items()):
            lock = self._chat_locks.get(chat_id)
            if at < now - _FORGET_AFTER and not (lock and lock.locked()):
                del self._chat_next[chat_id]
                self._chat_locks.pop(chat_id, None)
