"""Long polling that confirms an update to Telegram only once it has been handled: a bridge
killed mid-turn gets the message again when it restarts (at-least-once, as the outbox).
`Handling` runs the updates concurrently and remembers which are still in hand; `poll` asks
Telegram for news with the offset that confirms only the finished ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, SimpleUpdateProcessor

from assistant.logs import trace

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_SECONDS = 30.0  # the longest pause between tries to reach an unreachable Bot API
LONG_POLL_SECONDS = 10  # getUpdates waits this long for news when nothing is in hand
BUSY_POLL_SECONDS = 0.3  # with updates in hand, how often to look for new ones
BATCH = 100  # Telegram hands out at most this many updates at a time
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


class Handling(SimpleUpdateProcessor):
    """Updates handled concurrently (as `concurrent_updates(True)` does), remembering which
    of those taken from Telegram are not finished yet (see `poll`)."""

    def __init__(self) -> None:
        super().__init__(max_concurrent_updates=256)
        self.unfinished: set[int] = set()
        self.taken: int | None = None  # the newest update taken from Telegram
        self.finished = asyncio.Event()

    def offset(self) -> int | None:
        """getUpdates' offset: it confirms every update before it, and only those."""
        if self.unfinished:
            return min(self.unfinished)
        return None if self.taken is None else self.taken + 1

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Update):
            trace.set(f"update-{update.update_id}")  # this update's task and its log lines
        try:
            await coroutine
        finally:
            if isinstance(update, Update):
                self.unfinished.discard(update.update_id)
                self.finished.set()


async def or_stop(work: Awaitable[T], stop: asyncio.Event) -> tuple[bool, T | None]:
    """(True, its result), or (False, None) when `stop` is set first (the work cancelled)."""
    task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return True, task.result()
    while not task.done():  # PTB swallows a first cancellation while it stops polling
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled():
        task.exception()  # read, so that asyncio does not report it as never retrieved
    return False, None


async def poll(application: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """Long polling that confirms to Telegram only the updates already handled, until
    `stop`.

    getUpdates confirms every update before its offset, and Telegram then forgets them.
    PTB's updater confirms an update as soon as it has queued it: a bridge killed while it
    handles a message (waiting for Rasa, say) loses it, and the patient never gets an
    answer. Here the offset stays at the oldest update still in hand, so that after a
    crash Telegram hands out again what was not answered, and what was answered after it
    (answered twice rather than never: at-least-once, as the outbox). Should a whole batch
    be in hand, it is confirmed anyway, so that new messages (an emergency) still come in.
    """
    handling = application.update_processor
    assert isinstance(handling, Handling)
    pause = 1.0
    while not stop.is_set():
        busy = bool(handling.unfinished)
        handling.finished.clear()
        try:
            done, updates = await or_stop(application.bot.get_updates(
                offset=handling.offset(), timeout=0 if busy else LONG_POLL_SECONDS,
                allowed_updates=ALLOWED_UPDATES), stop)
        except TelegramError as exc:
            _polling_failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, RETRY_SECONDS)
            continue
        if not done or updates is None:
            return
        pause = 1.0
        taken = handling.taken
        new = [u for u in updates if taken is None or u.update_id > taken]
        for update in new:
            handling.unfinished.add(update.update_id)
            handling.taken = update.update_id
            await application.update_queue.put(update)
        if not new and len(updates) >= BATCH:
            log.warning("%d updates in hand: confirmed to Telegram before they are answered, "
                        "so that new ones come in", len(handling.unfinished))
            handling.unfinished.clear()
        elif busy and not new:  # only updates in hand came back: wait a little for news
            await or_stop(handling.finished.wait(), after(BUSY_POLL_SECONDS))


def after(seconds: float) -> asyncio.Event:
    """An event set `seconds` from now."""
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, event.set)
    return event


def _polling_failed(exc: TelegramError) -> None:
    """PTB retries by itself; one line per failure, not a traceback each time."""
    log.warning("polling Telegram failed (%s); retrying", type(exc).__name__)
