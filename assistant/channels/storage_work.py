"""Storage work for a chat flow: run in a thread, off the event loop, in one unit of work;
and what a patient did, kept in hand until the database takes it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from assistant.storage.db import is_unavailable, session

log = logging.getLogger(__name__)
T = TypeVar("T")

DATABASE_RETRY_SECONDS = 1.0  # what a patient did waits this often for the database


def in_thread(work: Callable[..., T], *args: object) -> asyncio.Future[T]:
    """Blocking storage work in a thread, in one unit of work."""

    def run() -> T:
        with session() as db:
            return work(db, *args)

    return asyncio.ensure_future(asyncio.to_thread(run))


async def stored(work: Callable[..., T], *args: object) -> T:
    """`in_thread`, waiting for a database out of reach: what a patient did (a reminder's
    button, /stop, agreeing to the notice) is recorded once it is back. The message stays
    in hand meanwhile, so that a restart does not lose it."""
    waiting = False
    while True:
        try:
            return await in_thread(work, *args)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            if not waiting:
                log.warning("database unavailable (%s); a message waits for it",
                            type(exc).__name__)
                waiting = True
        await asyncio.sleep(DATABASE_RETRY_SECONDS)
