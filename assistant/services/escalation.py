"""The escalation ladder: an urgent alert nobody acknowledged within the team's
`escalate_after_minutes` goes to the next member of the team's on-call list, by a message
to that member's linked chat (through the outbox) and a step the console shows.

The first step comes that long after the alert was raised, each further one that long
after the step before. A member who is inactive, or has no linked chat, is skipped; at the
end of the list the ladder stops (the alert stays open in the console, with every step).
Acknowledging or resolving the alert stops it. Each step is recorded once per member (a
unique key) and its message has a dedupe key, so a repeated tick sends nothing twice.
Logs carry ids only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from assistant import texts
from assistant.services import member_chats
from assistant.storage.db import utcnow
from assistant.storage.models import (
    PRIORITY,
    Alert,
    AlertEscalation,
    AlertSeverity,
    AlertStatus,
    CareTeam,
    MessageKind,
    OutboxMessage,
    Patient,
    TeamMember,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    member_id: int
    name: str
    at: datetime


def steps(db: Session, alert_ids: list[int]) -> dict[int, list[Step]]:
    """Each alert's escalation steps, oldest first."""
    if not alert_ids:
        return {}
    rows = db.exec(select(AlertEscalation, TeamMember)
                   .join(TeamMember, col(TeamMember.id) == AlertEscalation.member_id)
                   .where(col(AlertEscalation.alert_id).in_(alert_ids))
                   .order_by(col(AlertEscalation.at), col(AlertEscalation.id))).all()
    found: dict[int, list[Step]] = defaultdict(list)
    for step, member in rows:
        found[step.alert_id].append(Step(member.id, member.name, step.at))
    return dict(found)


def _next_member(db: Session, team: CareTeam, notified: set[int]) -> TeamMember | None:
    for member_id in team.on_call:
        if member_id in notified:
            continue
        member = db.get(TeamMember, member_id)
        if (member is not None and member.active and member.team_id == team.id
                and member_chats.chat_of(db, member.id) is not None):
            return member
    return None


def _escalate(db: Session, alert: Alert, member: TeamMember, now: datetime) -> None:
    patient = db.get(Patient, alert.patient_id)
    name = patient.display_name if patient else str(alert.patient_id)
    db.add(AlertEscalation(alert_id=alert.id, member_id=member.id, at=now))
    db.add(OutboxMessage(
        patient_id=alert.patient_id, member_id=member.id, kind=MessageKind.escalation,
        priority=PRIORITY[MessageKind.escalation],
        text=texts.t("escalation.message", patient=name, summary=alert.summary,
                     link=f"/alerts#alert-{alert.id}"),
        dedupe_key=f"escalate:{alert.id}:{member.id}"))
    log.info("alert %s escalated to member %s", alert.id, member.id)


def check_escalations(db: Session, *, now: datetime | None = None) -> int:
    """One pass over the open, unacknowledged urgent alerts; returns how many steps were
    taken."""
    now = now or utcnow()
    waiting = db.exec(select(Alert).where(
        Alert.status == AlertStatus.open, col(Alert.acknowledged_at).is_(None),
        Alert.severity == AlertSeverity.urgent).order_by(col(Alert.id))).all()
    taken = steps(db, [a.id for a in waiting])
    teams: dict[int, CareTeam | None] = {}
    count = 0
    for alert in waiting:
        team = teams.setdefault(alert.team_id, db.get(CareTeam, alert.team_id))
        if team is None or not team.on_call:
            continue
        done = taken.get(alert.id, [])
        since = done[-1].at if done else alert.created_at
        if now - since < timedelta(minutes=team.escalate_after_minutes):
            continue
        member = _next_member(db, team, {step.member_id for step in done})
        if member is not None:
            _escalate(db, alert, member, now)
            count += 1
    return count
