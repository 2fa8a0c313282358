"""The reminder service: APScheduler wakes it up; the database says what is due.

APScheduler 3 keeps only in-memory interval jobs here (DESIGN: one scheduler per job
store, and a job advanced before it runs would be lost in a crash). Every tick plans
and advances dose occurrences in short transactions, so a restart or a second
instance repeats nothing. The same process delivers the outbox with the drains it is
given (one per channel the settings enable: the supervisor composes them), naming no
channel itself, unless sender processes do that alone (`run_sender`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine

from assistant import metrics
from assistant.config import Settings
from assistant.scheduling import confirmations, escalation, missing_data
from assistant.scheduling.advice_planner import plan_advice
from assistant.scheduling.planner import Policy, run_once
from assistant.storage.db import get_engine, is_unavailable, session, utcnow

log = logging.getLogger(__name__)

ADVICE_EVERY_SECONDS = 60
Drain = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def _queue_advice(engine: Engine) -> None:
    with session(engine) as db:
        plan_advice(db)


def _check_missing_data(engine: Engine) -> None:
    with session(engine) as db:
        missing_data.check_missing_data(db)


def _escalate(engine: Engine) -> None:
    with session(engine) as db:
        escalation.check_escalations(db)


def _check_confirmations(engine: Engine) -> None:
    with session(engine) as db:
        confirmations.check_confirmations(db)


def _guarded(name: str, work: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """A job that runs blocking database work in a thread and survives its failures:
    the transaction rolled back, and the next tick tries again. A database out of reach
    is said once (and its return), not with a traceback at every tick."""
    unreachable = False

    async def job() -> None:
        nonlocal unreachable
        try:
            with metrics.TICK.labels(job=name).time():
                await asyncio.to_thread(work)
        except Exception as exc:
            if not is_unavailable(exc):
                log.exception("%s failed; retrying at the next tick", name)
            elif not unreachable:
                log.warning("%s: the database is out of reach (%s); retrying at each tick",
                            name, type(exc).__name__)
                unreachable = True
            return
        if unreachable:
            log.info("%s: the database is back", name)
            unreachable = False

    return job


async def run_scheduler(settings: Settings, stop: asyncio.Event,
                        drains: Sequence[Drain] = ()) -> None:
    """Plan and move doses on, queue advice, nudge about missing readings, hand the team
    the warnings the patient did not re-measure in time, escalate urgent alerts nobody
    acknowledged, and run each of `drains` (a channel's outbox delivery, until the event
    it is given is set) until `stop`."""
    engine, policy = get_engine(), Policy.from_settings(settings)
    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = [("careloop-doses", settings.scheduler_tick_seconds,
             lambda: run_once(engine, policy)),
            ("careloop-advice", ADVICE_EVERY_SECONDS, lambda: _queue_advice(engine)),
            ("careloop-missing-data", missing_data.EVERY_SECONDS,
             lambda: _check_missing_data(engine)),
            ("careloop-escalation", escalation.EVERY_SECONDS, lambda: _escalate(engine)),
            ("careloop-confirmations", confirmations.EVERY_SECONDS,
             lambda: _check_confirmations(engine))]
    for job_id, seconds, work in jobs:
        scheduler.add_job(_guarded(job_id, work), "interval", seconds=seconds, id=job_id,
                          replace_existing=True, max_instances=1, coalesce=True,
                          misfire_grace_time=None, next_run_time=utcnow())
    scheduler.start()
    delivering = [asyncio.create_task(drain(stop)) for drain in drains]
    log.info("scheduler started (doses every %s s)", settings.scheduler_tick_seconds)
    await stop.wait()
    scheduler.shutdown(wait=False)
    for task in delivering:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    log.info("scheduler stopped")


async def run_sender(stop: asyncio.Event, drains: Sequence[Drain]) -> None:
    """Only deliver the outbox (`careloop run --only sender`), with each of `drains`, until
    `stop`: the scheduler workers then plan without sending (CARELOOP_SCHEDULER_SENDS)."""
    log.info("sender started")
    await asyncio.gather(*(drain(stop) for drain in drains))
    log.info("sender stopped")
