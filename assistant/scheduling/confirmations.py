"""The scheduler's confirmation step: a warning whose patient was asked to re-measure and
sent no new reading within `CONFIRM_WAIT` goes to the care team anyway
(`services.confirmations.expire`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from assistant.services import confirmations
from assistant.storage.db import utcnow

EVERY_SECONDS = 30  # a 30-minute wait is kept to within half a minute


def check_confirmations(db: Session, *, now: datetime | None = None) -> int:
    """One pass; returns how many alerts went to the team."""
    return confirmations.expire(db, now=now or utcnow())
