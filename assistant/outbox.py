"""The outbox: every message CareLoop sends on its own (reminders, nudges, advice, refill
notices, care-team replies) waits here until a channel delivers it.

Delivery is at-least-once. A worker claims due rows for a short lease and commits
Telegram's answer right away, so a duplicate needs a crash (or a lost answer) between
Telegram's answer and that commit. A crashed worker's claim expires and the row is
claimed again. On PostgreSQL workers skip each other's rows (`FOR UPDATE SKIP LOCKED`).

What is no longer worth sending is dropped when claimed, never sent late in a burst:
a reminder or nudge whose dose was answered, missed or cancelled, or that a newer
reminder of the same dose replaced; reminders, nudges and advice of a paused patient
(dropped, not held: pausing means "nothing until I resume", and the scheduler cancels
the doses meanwhile); anything for a stopped patient. Refill notices and care-team
replies still reach a paused patient.

    Errors a channel's `send` raises (the drain maps each to an outcome):
     DeliveryError
      ├── Unreachable   the chat blocked the bot: the row fails, the chat is marked
      │                 unreachable (its other rows dropped, the team alerted)
      ├── Rejected      the channel refuses this message for good: the row fails
      └── RetryLater    a passing failure: the row waits `after` seconds (with backoff)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from assistant import enrolment
from assistant.db import is_postgres, session, utcnow
from assistant.models import (
    OPEN_DOSE_STATUSES,
    ChatLink,
    DoseOccurrence,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientStatus,
)

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
BACKOFF_FIRST, BACKOFF_MAX = 5.0, 600.0  # seconds: 5, 10, 20 ... 600
PAUSED_DROPS = frozenset({MessageKind.reminder, MessageKind.nudge, MessageKind.advice})
DOSE_KINDS = frozenset({MessageKind.reminder, MessageKind.nudge})

Buttons = list[list[dict[str, str]]]
Send = Callable[[str, str, Buttons], Awaitable[int]]
"""A channel's sender: `(chat_id, text, buttons) -> message id`."""


class DeliveryError(Exception):
    """A message a channel could not deliver."""


class Unreachable(DeliveryError):
    """The chat cannot receive messages any more (Telegram 403: the bot was blocked)."""


class Rejected(DeliveryError):
    """The channel refuses this message as it is (Telegram 400); retrying will not help."""


class RetryLater(DeliveryError):
    """A passing failure; `after` seconds is when to try again (at the earliest)."""

    def __init__(self, reason: str, after: float) -> None:
        super().__init__(reason)
        self.after = after


def backoff(attempts: int) -> float:
    """Seconds to wait before the next try after `attempts` tries."""
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


# --- storage side (sync; one session per unit of work) ------------------------------------

def claim(db: Session, *, channel: str, limit: int, lease_seconds: float = LEASE.total_seconds(),
          now: datetime | None = None) -> list[OutboxMessage]:
    """Lease up to `limit` due messages for chats linked on `channel`, most urgent first.

    At most one per chat, and none for a chat whose previous message is still leased (on
    its way): a chat's messages go one after the other, in order, whichever worker sends
    them. The chat is copied onto each row. Rows no longer worth sending are dropped."""
    now = now or utcnow()
    earlier = aliased(OutboxMessage)
    in_flight = (select(earlier.id)
                 .where(earlier.patient_id == OutboxMessage.patient_id,
                        earlier.status == OutboxStatus.pending,
                        col(earlier.claimed_until) >= now)
                 .exists())
    query = (select(OutboxMessage, ChatLink, Patient)
             .join(Patient, col(Patient.id) == OutboxMessage.patient_id)
             .join(ChatLink, (col(ChatLink.patient_id) == OutboxMessage.patient_id)
                   & col(ChatLink.unlinked_at).is_(None) & col(ChatLink.unreachable_at).is_(None))
             .where(OutboxMessage.status == OutboxStatus.pending, ChatLink.channel == channel,
                    OutboxMessage.not_before <= now,
                    col(OutboxMessage.claimed_until).is_(None)
                    | (col(OutboxMessage.claimed_until) < now),
                    ~in_flight)
             .order_by(col(OutboxMessage.priority), col(OutboxMessage.not_before),
                       col(OutboxMessage.id))
             .limit(limit))
    if is_postgres(db.get_bind()):  # type: ignore[arg-type]
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    rows = db.exec(query).all()
    newest = _newest_pending(db, [m.occurrence_id for m, _, _ in rows
                                  if m.occurrence_id is not None and m.kind in DOSE_KINDS])
    claimed: list[OutboxMessage] = []
    chats: set[str] = set()
    for message, link, patient in rows:
        reason = _stale(db, message, patient, newest)
        if reason:
            message.status, message.last_error = OutboxStatus.dropped, reason
            message.claimed_until = None
            continue
        if link.chat_id in chats:
            continue  # one message per chat per claim: the chat is paced anyway
        chats.add(link.chat_id)
        message.claimed_until = now + timedelta(seconds=lease_seconds)
        message.channel, message.chat_id = link.channel, link.chat_id
        message.attempts += 1
        claimed.append(message)
    db.flush()
    return claimed


def _newest_pending(db: Session, occurrence_ids: list[int]) -> dict[int, int]:
    if not occurrence_ids:
        return {}
    rows = db.exec(select(OutboxMessage.occurrence_id, func.max(OutboxMessage.id))
                   .where(col(OutboxMessage.occurrence_id).in_(set(occurrence_ids)),
                          col(OutboxMessage.kind).in_(DOSE_KINDS),
                          OutboxMessage.status == OutboxStatus.pending)
                   .group_by(col(OutboxMessage.occurrence_id))).all()
    return {occ: newest for occ, newest in rows if occ is not None}


def _stale(db: Session, message: OutboxMessage, patient: Patient,
           newest: dict[int, int]) -> str | None:
    """Why the message is no longer worth sending, or None."""
    if patient.status == PatientStatus.stopped:
        return "patient stopped"
    if patient.status == PatientStatus.paused and message.kind in PAUSED_DROPS:
        return "patient paused"
    if message.occurrence_id is not None and message.kind in DOSE_KINDS:
        if newest.get(message.occurrence_id, message.id) > message.id:
            return "replaced by a newer reminder"
        occ = db.get(DoseOccurrence, message.occurrence_id)
        if occ is None or occ.status not in OPEN_DOSE_STATUSES:
            return f"dose {occ.status if occ else 'deleted'}"
    return None


def mark_sent(db: Session, message_id: int, telegram_message_id: int) -> None:
    """Record the channel's answer; commit at once (the duplicate window ends here)."""
    message = db.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.sent_at = OutboxStatus.sent, utcnow()
        message.telegram_message_id = telegram_message_id
        message.claimed_until = None


def retry_later(db: Session, message_id: int, reason: str, after: float | None = None) -> None:
    """Try again after `after` seconds or the backoff, whichever is longer; give up (failed)
    after MAX_ATTEMPTS tries."""
    message = db.get(OutboxMessage, message_id)
    if message is None or message.status != OutboxStatus.pending:
        return
    message.last_error = reason[:200]
    message.claimed_until = None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.failed
        log.error("outbox message %s failed after %d tries", message_id, message.attempts)
        return
    wait = max(after or 0.0, backoff(message.attempts))
    message.not_before = utcnow() + timedelta(seconds=wait)


def mark_failed(db: Session, message_id: int, reason: str) -> None:
    message = db.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.last_error = OutboxStatus.failed, reason[:200]
        message.claimed_until = None


def mark_unreachable(db: Session, message_id: int, channel: str, chat_id: str) -> None:
    """The chat blocked the bot: this row fails, the others of the patient are dropped and
    the care team is told (once)."""
    mark_failed(db, message_id, "chat unreachable")
    enrolment.mark_unreachable(db, channel=channel, chat_id=chat_id)


def release(db: Session, message_ids: Iterable[int]) -> None:
    """Give back claims that were not tried (a worker stopping): claimable again at once."""
    ids = list(message_ids)
    if ids:
        db.execute(update(OutboxMessage)
                   .where(col(OutboxMessage.id).in_(ids),
                          col(OutboxMessage.status) == OutboxStatus.pending)
                   .values(claimed_until=None, attempts=OutboxMessage.attempts - 1))


# --- the loop (async; storage in threads) -------------------------------------------------

def _claim(channel: str, limit: int, lease_seconds: float) -> list[OutboxMessage]:
    with session() as db:
        return claim(db, channel=channel, limit=limit, lease_seconds=lease_seconds)


def _record(work: Callable[[Session], None]) -> None:
    with session() as db:
        work(db)


def _release(message_ids: list[int]) -> None:
    with session() as db:
        release(db, message_ids)


async def _deliver(send: Send, channel: str, message: OutboxMessage) -> None:
    item, chat_id = message.id, message.chat_id or ""
    try:
        sent_id = await send(chat_id, message.text, message.buttons)
    except Unreachable:
        log.warning("outbox message %s: chat unreachable", item)
        await asyncio.to_thread(_record, lambda db: mark_unreachable(db, item, channel, chat_id))
        return
    except Rejected as exc:
        reason = str(exc)
        log.error("outbox message %s rejected by %s: %s", item, channel, reason)
        await asyncio.to_thread(_record, lambda db: mark_failed(db, item, reason))
        return
    except RetryLater as exc:
        reason, after = str(exc), exc.after
        log.warning("outbox message %s: %s; retrying later", item, reason)
        await asyncio.to_thread(_record, lambda db: retry_later(db, item, reason, after))
        return
    except Exception as exc:  # a bug or an unexpected answer: logged, retried with backoff
        reason = type(exc).__name__
        log.exception("outbox message %s could not be sent", item)
        await asyncio.to_thread(_record, lambda db: retry_later(db, item, reason))
        return
    # Committed at once: the duplicate window is this one statement.
    await asyncio.to_thread(_record, lambda db: mark_sent(db, item, sent_id))


@dataclass(frozen=True)
class _Job:
    message: OutboxMessage
    deadline: float  # monotonic; past it the lease may have run out: not sent, released


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def drain(send: Send, *, channel: str, stop: asyncio.Event, batch: int = 50,
                concurrency: int | None = None, idle_seconds: float = 0.5,
                lease: timedelta | float = LEASE, stop_grace: float = 10.0) -> None:
    """Deliver due messages with `send` until `stop` is set.

    One loop claims batches and keeps up to two batches queued; `concurrency` workers
    (default: `batch`) send them, so the channel's own pacing (per bot, per chat) is
    the only limit on throughput. On stop, workers finish what they are sending (for
    at most `stop_grace` seconds) and claims not yet tried are released."""
    lease_seconds = lease.total_seconds() if isinstance(lease, timedelta) else float(lease)
    queue: asyncio.Queue[_Job | None] = asyncio.Queue()
    expired: list[int] = []

    async def worker() -> None:
        while (job := await queue.get()) is not None:
            try:
                if time.monotonic() > job.deadline:
                    expired.append(job.message.id)
                else:
                    await _deliver(send, channel, job.message)
            except Exception:  # the database failed after a send: the lease will expire
                log.exception("outbox message %s: recording the outcome failed",
                              job.message.id)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency or batch)]
    try:
        while not stop.is_set():
            if queue.qsize() >= batch:
                await _wait(stop, 0.02)  # enough queued: let the workers catch up
                continue
            try:
                if expired:  # waited too long in the queue (a long 429?): claimable again
                    stale, expired[:] = list(expired), []
                    await asyncio.to_thread(_release, stale)
                claimed = await asyncio.to_thread(_claim, channel, batch, lease_seconds)
            except Exception:  # the database or a bug: logged, and the loop goes on
                log.exception("outbox claim failed; retrying")
                claimed = []
            deadline = time.monotonic() + lease_seconds * 0.8
            for message in claimed:
                queue.put_nowait(_Job(message, deadline))
            if not claimed:
                await _wait(stop, idle_seconds)
    finally:
        leftovers = list(expired)
        while not queue.empty():
            job = queue.get_nowait()
            if job is not None:
                leftovers.append(job.message.id)
        for _ in workers:
            queue.put_nowait(None)
        _, unfinished = await asyncio.wait(workers, timeout=stop_grace)
        for task in unfinished:  # their claims expire with the lease
            task.cancel()
        if leftovers:
            try:
                await asyncio.to_thread(_release, leftovers)
            except Exception:  # their leases expire: claimed again later
                log.exception("releasing %d unsent outbox messages failed", len(leftovers))
