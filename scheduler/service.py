"""The reminder service: APScheduler wakes it up; the database says what is due.

APScheduler 3 keeps only an in-memory interval job here (DESIGN: one scheduler per job
store, and a job advanced before it runs would be lost in a crash). Every tick plans
and advances dose occurrences in short transactions, so a restart or a second
instance repeats nothing. With a Telegram token the same process drains the outbox
through the bridge's sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from assistant.db import get_engine, utcnow
from assistant.settings import Settings
from scheduler.planner import Policy, run_once

log = logging.getLogger(__name__)


async def run_scheduler(settings: Settings, stop: asyncio.Event) -> None:
    engine, policy = get_engine(), Policy.from_settings(settings)

    async def tick() -> None:
        try:
            await asyncio.to_thread(run_once, engine, policy)
        except Exception:  # logged and retried at the next tick; the database is unchanged
            log.exception("scheduler tick failed")

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(tick, "interval", seconds=settings.scheduler_tick_seconds,
                      id="careloop-tick", replace_existing=True, max_instances=1,
                      coalesce=True, misfire_grace_time=None, next_run_time=utcnow())
    scheduler.start()
    drain: asyncio.Task[None] | None = None
    if settings.telegram_enabled:
        from assistant.telegram.dispatch import drain_to_telegram

        drain = asyncio.create_task(drain_to_telegram(settings, stop))
    log.info("scheduler started (tick every %s s)", settings.scheduler_tick_seconds)
    await stop.wait()
    scheduler.shutdown(wait=False)
    if drain is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await drain
    log.info("scheduler stopped")
