"""Each update a channel's webhook receives handled once, however many bridges share the
work and however often the channel delivers it again.

A bridge claims an update by its id before it handles it (a row with a unique key, shared
by every bridge through the database): the first claim wins and holds a lease, which the
holder renews while it works. A claim of an update already done says so (answer it at
once, send nothing again); a claim while another bridge's lease is live says busy (the
channel should try again later). A lease that ran out, because its holder died, is taken
over by the next claim: at-least-once, never lost. A holder that failed releases its claim,
so that the next delivery handles the update. Only ids and times are kept, and old rows
are pruned once the channel can no longer deliver them again.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from assistant.storage.db import insert_or_ignore, utcnow
from assistant.storage.models import ChannelUpdate

# Telegram keeps an update for 24 hours at most: a row older than that can meet no retry.
KEEP = timedelta(hours=48)


class Outcome(enum.Enum):
    taken = "taken"  # this bridge holds it now: handle it
    done = "done"    # handled already: answer at once
    busy = "busy"    # another bridge's lease is live: let the channel try again later


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    holder: str = ""                     # the claim's own mark (when taken)
    leased_until: datetime | None = None  # when another's lease runs out (when busy)


def claim(db: Session, *, channel: str, update_id: int, lease: timedelta,
          now: datetime | None = None) -> Claim:
    """Claim the update for `lease`: taken, done already, or busy with another bridge."""
    now = now or utcnow()
    holder = secrets.token_hex(16)
    values = {"channel": channel, "update_id": update_id, "holder": holder,
              "leased_until": now + lease, "received_at": now}
    added = db.execute(insert_or_ignore(db, ChannelUpdate).values(**values).returning(
        col(ChannelUpdate.id))).first()
    if added is not None:
        return Claim(Outcome.taken, holder)
    # Known already: take it over only if its holder's lease ran out (one statement, so
    # that of two bridges finding it expired only one takes it).
    taken = db.execute(update(ChannelUpdate).where(
        col(ChannelUpdate.channel) == channel, col(ChannelUpdate.update_id) == update_id,
        col(ChannelUpdate.done_at).is_(None), col(ChannelUpdate.leased_until) <= now,
    ).values(holder=holder, leased_until=now + lease))
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return Claim(Outcome.taken, holder)
    row = db.exec(select(ChannelUpdate).where(ChannelUpdate.channel == channel,
                                              ChannelUpdate.update_id == update_id)).one()
    if row.done_at is not None:
        return Claim(Outcome.done)
    return Claim(Outcome.busy, leased_until=row.leased_until)


def renew(db: Session, *, channel: str, update_id: int, holder: str, lease: timedelta,
          now: datetime | None = None) -> bool:
    """Extend the holder's lease while it still works; False if the claim is no longer its
    own (it was too slow, and another bridge took the update over)."""
    now = now or utcnow()
    renewed = db.execute(update(ChannelUpdate).where(
        col(ChannelUpdate.channel) == channel, col(ChannelUpdate.update_id) == update_id,
        col(ChannelUpdate.holder) == holder, col(ChannelUpdate.done_at).is_(None),
    ).values(leased_until=now + lease))
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def finish(db: Session, *, channel: str, update_id: int, now: datetime | None = None) -> None:
    """The update was handled (by whichever bridge): every later delivery is answered at
    once."""
    db.execute(update(ChannelUpdate).where(
        col(ChannelUpdate.channel) == channel, col(ChannelUpdate.update_id) == update_id,
        col(ChannelUpdate.done_at).is_(None)).values(done_at=now or utcnow()))


def release(db: Session, *, channel: str, update_id: int, holder: str) -> None:
    """Handling failed: the holder gives its claim up, so that the next delivery handles
    the update (another bridge's claim, or a done update, stays)."""
    db.execute(delete(ChannelUpdate).where(
        col(ChannelUpdate.channel) == channel, col(ChannelUpdate.update_id) == update_id,
        col(ChannelUpdate.holder) == holder, col(ChannelUpdate.done_at).is_(None)))


def prune(db: Session, *, keep: timedelta = KEEP, now: datetime | None = None) -> int:
    """Forget updates received longer than `keep` ago; how many were forgotten."""
    cutoff = (now or utcnow()) - keep
    pruned = db.execute(delete(ChannelUpdate).where(col(ChannelUpdate.received_at) < cutoff))
    return int(pruned.rowcount)  # type: ignore[attr-defined]
