"""The scheduler's escalation step: urgent alerts nobody acknowledged in the team's set
minutes go to the next member of the team's on-call list (services/escalation.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from assistant.services import escalation

EVERY_SECONDS = 30  # a ladder step counts in minutes: half a minute late at most


def check_escalations(db: Session, *, now: datetime | None = None) -> int:
    """One pass; returns how many alerts went one step up their ladder."""
    return escalation.check_escalations(db, now=now)
