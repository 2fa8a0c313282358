"""The outbox: every message CareLoop sends on its own (reminders, nudges, advice,
care-team replies, and escalated alerts to an on-call member's chat) waits here until a
channel delivers it.

Each channel delivers the rows of its own chats with its `send` (see
assistant/channels/base.py), which gives the channel's id of the message or raises
`Unreachable` / `RetryLater`. Delivery is at-least-once. A worker claims rows for a short
lease; the channel's answer is committed right away (retried while the database is out
of reach, rather than left for the lease to expire and the message to go out again), so
a duplicate needs a crash between that answer and that commit, and a channel that sends one
message at a time through that window (Telegram's does) repeats at most one per crash. A
crashed worker's claim expires and another worker retries the row. On PostgreSQL workers
skip each other's rows (`FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from assistant import metrics
from assistant.services import enrolment
from assistant.storage.db import is_postgres, is_unavailable, session, utcnow
from assistant.storage.models import (
    OPEN_DOSE_STATUSES,
    ChatLink,
    DoseOccurrence,
    MemberChat,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientStatus,
    TeamMember,
)

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
RECORD_RETRY_SECONDS = 1.0  # how often a send's outcome is offered to an unreachable database
Buttons = list[list[dict[str, str]]]
Recorded = Callable[[int], Awaitable[None]]


class Send(Protocol):
    """A channel's `send`: `recorded(message id)` is called, once the channel has the
    message, before the channel lets another message of this process leave."""

    def __call__(self, chat_id: str, text: str, buttons: Buttons, *,
                 recorded: Recorded | None = None) -> Awaitable[int]: ...


class Unreachable(Exception):
    """The chat cannot receive messages any more (e.g. Telegram's 403: the bot was
    blocked)."""


class RetryLater(Exception):
    """A passing failure; `after` seconds is when to try again."""

    def __init__(self, reason: str, after: float) -> None:
        super().__init__(reason)
        self.after = after


@dataclass(frozen=True)
class Claimed:
    id: int
    chat_id: str
    text: str
    buttons: Buttons
    kind: str = ""                 # for the metrics: reminder, reply, advice...
    due: datetime | None = None    # when it was to go out (its `not_before`)


def claim(db: Session, *, channel: str, limit: int, lease: timedelta = LEASE,
          now: datetime | None = None, skip: Collection[int] = ()) -> list[Claimed]:
    """Lease up to `limit` due messages of chats on `channel`, most urgent first, but none
    of `skip` (those the caller still has in hand, whatever their lease). Messages no
    longer worth sending (dose answered, patient paused or unlinked, member gone) are
    dropped. A message with a `member_id` goes to that member's linked chat."""
    now = now or utcnow()
    due = (OutboxMessage.status == OutboxStatus.pending, OutboxMessage.not_before <= now,
           col(OutboxMessage.claimed_until).is_(None) | (col(OutboxMessage.claimed_until) < now),
           col(OutboxMessage.id).not_in(skip))
    order = (col(OutboxMessage.priority), col(OutboxMessage.not_before), col(OutboxMessage.id))
    to_patients = (select(OutboxMessage, ChatLink, Patient)
                   .join(Patient, col(Patient.id) == OutboxMessage.patient_id)
                   .join(ChatLink, (col(ChatLink.patient_id) == OutboxMessage.patient_id)
                         & col(ChatLink.unlinked_at).is_(None)
                         & col(ChatLink.unreachable_at).is_(None))
                   .where(*due, col(OutboxMessage.member_id).is_(None),
                          ChatLink.channel == channel)
                   .order_by(*order).limit(limit))
    to_members = (select(OutboxMessage, MemberChat, TeamMember)
                  .join(TeamMember, col(TeamMember.id) == OutboxMessage.member_id)
                  .join(MemberChat, (col(MemberChat.member_id) == OutboxMessage.member_id)
                        & col(MemberChat.unlinked_at).is_(None))
                  .where(*due, MemberChat.channel == channel)
                  .order_by(*order).limit(limit))
    if is_postgres(db.get_bind()):  # type: ignore[arg-type]
        to_patients = to_patients.with_for_update(skip_locked=True, of=OutboxMessage)
        to_members = to_members.with_for_update(skip_locked=True, of=OutboxMessage)
    found: list[tuple[OutboxMessage, str, str, str | None]] = [
        (message, link.channel, link.chat_id, _stale(db, message, patient))
        for message, link, patient in db.exec(to_patients).all()]
    found += [(message, chat.channel, chat.chat_id, None if member.active else "member inactive")
              for message, chat, member in db.exec(to_members).all()]
    found.sort(key=lambda row: (row[0].priority, row[0].not_before, row[0].id))
    claimed: list[Claimed] = []
    for message, link_channel, chat_id, reason in found[:limit]:
        if reason:
            message.status, message.last_error = OutboxStatus.dropped, reason
            continue
        message.claimed_until = now + lease
        message.channel, message.chat_id = link_channel, chat_id
        message.attempts += 1
        claimed.append(Claimed(message.id, chat_id, message.text, message.buttons,
                               str(message.kind), message.not_before))
    return claimed


def _stale(db: Session, message: OutboxMessage, patient: Patient) -> str | None:
    if patient.status != PatientStatus.active:
        return f"patient {patient.status}"
    if message.occurrence_id is not None:
        occ = db.get(DoseOccurrence, message.occurrence_id)
        if occ is None or occ.status not in OPEN_DOSE_STATUSES:
            return "dose already answered"
    return None


def backlog(db: Session) -> tuple[int, float]:
    """Messages waiting to go out now, and how long the oldest has waited (seconds)."""
    now = utcnow()
    count, oldest = db.exec(select(func.count(), func.min(OutboxMessage.not_before)).where(
        OutboxMessage.status == OutboxStatus.pending, OutboxMessage.not_before <= now)).one()
    return count, (now - oldest).total_seconds() if oldest is not None else 0.0


def mark_sent(db: Session, message_id: int, channel_message_id: int) -> None:
    message = db.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.sent_at = OutboxStatus.sent, utcnow()
        message.channel_message_id = channel_message_id
        message.claimed_until = None


def retry_later(db: Session, message_id: int, reason: str, after: float) -> None:
    message = db.get(OutboxMessage, message_id)
    if message is None:
        return
    message.last_error = reason[:200]
    message.claimed_until = None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.failed
    else:
        message.not_before = utcnow() + timedelta(seconds=after)


def mark_unreachable(db: Session, message_id: int, channel: str, chat_id: str) -> None:
    message = db.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.last_error = OutboxStatus.failed, "chat unreachable"
    enrolment.mark_unreachable(db, channel=channel, chat_id=chat_id)


def _claim(channel: str, limit: int, lease: timedelta, skip: list[int]) -> list[Claimed]:
    with session() as db:
        return claim(db, channel=channel, limit=limit, lease=lease, skip=skip)


def _record(update: Callable[[Session], None]) -> None:
    with session() as db:
        update(db)


async def _record_outcome(update: Callable[[Session], None], stop: asyncio.Event) -> None:
    """Record what became of a send, waiting for an unreachable database (until `stop`:
    then the claim's lease decides)."""
    while True:
        try:
            await asyncio.to_thread(_record, update)
            return
        except Exception as exc:
            if not is_unavailable(exc) or stop.is_set():
                raise
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RECORD_RETRY_SECONDS)


async def _deliver(send: Send, channel: str, item: Claimed, stop: asyncio.Event) -> None:
    recorded = False

    async def record(message_id: int) -> None:
        """The channel has the message: recorded before this process sends another (a
        crash then repeats at most that one)."""
        nonlocal recorded
        recorded = True
        metrics.SENT.labels(kind=item.kind, channel=channel).inc()
        if item.kind == MessageKind.reminder and item.due is not None:
            metrics.REMINDER_LATENESS.observe(max(0.0, (utcnow() - item.due).total_seconds()))
        # Committed at once: the duplicate window is this one statement.
        await _record_outcome(lambda db: mark_sent(db, item.id, message_id), stop)

    try:
        message_id = await send(item.chat_id, item.text, item.buttons, recorded=record)
    except Unreachable:
        metrics.FAILED.labels(kind=item.kind, channel=channel, reason="unreachable").inc()
        await _record_outcome(lambda db: mark_unreachable(db, item.id, channel, item.chat_id),
                              stop)
        return
    except RetryLater as exc:
        reason, after = str(exc), exc.after
        log.warning("outbox message %s: %s; retrying in %.0f s", item.id, reason, after)
        metrics.FAILED.labels(kind=item.kind, channel=channel, reason="retry").inc()
        await _record_outcome(lambda db: retry_later(db, item.id, reason, after), stop)
        return
    except Exception as exc:  # a bug or an unexpected answer: logged, retried later
        if recorded:  # sent; its outcome could not be recorded: the lease decides
            raise
        reason = type(exc).__name__
        log.exception("outbox message %s could not be sent", item.id)
        metrics.FAILED.labels(kind=item.kind, channel=channel, reason="error").inc()
        await _record_outcome(lambda db: retry_later(db, item.id, reason, 60), stop)
        return
    if not recorded:  # a channel that sends without calling `recorded`
        await record(message_id)


def _finished(running: dict[asyncio.Task[None], int], task: asyncio.Task[None]) -> None:
    running.pop(task, None)
    if not task.cancelled() and task.exception() is not None:
        log.error("outbox delivery failed; the claim's lease will retry it",
                  exc_info=task.exception())


async def drain(send: Send, *, channel: str, stop: asyncio.Event, batch: int = 100,
                idle_seconds: float = 0.5, lease: timedelta = LEASE) -> None:
    """Deliver due messages with `send` until `stop` is set. Messages go out concurrently;
    `send` paces them (per chat and per bot). More are claimed whenever half of those in
    hand have gone: a chat with several messages waiting holds up only its own."""
    unreachable = False  # the database: said once, not at every turn of the loop
    running: dict[asyncio.Task[None], int] = {}  # deliveries in hand: their messages' ids
    while not stop.is_set():
        if len(running) > batch // 2:
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            continue
        try:
            items = await asyncio.to_thread(_claim, channel, batch - len(running), lease,
                                            list(running.values()))
            if unreachable:
                log.info("outbox: the database is back")
                unreachable = False
            for item in items:
                task = asyncio.create_task(_deliver(send, channel, item, stop))
                running[task] = item.id
                task.add_done_callback(partial(_finished, running))
            if items:
                continue
        except Exception as exc:  # the database or a bug: logged, and the loop goes on
            if not is_unavailable(exc):
                log.exception("outbox drain failed; retrying")
            elif not unreachable:
                log.warning("outbox: the database is out of reach (%s); retrying",
                            type(exc).__name__)
                unreachable = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
    if running:  # what was claimed goes out (or its lease brings it back)
        await asyncio.wait(running)
