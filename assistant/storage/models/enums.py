"""The fixed vocabularies stored as plain strings: roles, patient, dose, outbox and alert
states and kinds, and the outbox's send priorities."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    clinician = "clinician"


class PatientStatus(StrEnum):
    active = "active"
    paused = "paused"
    stopped = "stopped"


class DoseStatus(StrEnum):
    planned = "planned"      # expanded from the schedule, not yet due
    sent = "sent"            # reminder handed to the outbox
    snoozed = "snoozed"      # patient asked to be reminded again at `remind_at`
    taken = "taken"
    skipped = "skipped"
    missed = "missed"
    cancelled = "cancelled"  # schedule changed or stopped before it was due


OPEN_DOSE_STATUSES = (DoseStatus.planned, DoseStatus.sent, DoseStatus.snoozed)


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"        # gave up (blocked, too many errors); the team can see it
    dropped = "dropped"      # no longer useful (dose answered, chat unlinked)


class MessageKind(StrEnum):
    reminder = "reminder"
    nudge = "nudge"
    refill = "refill"
    advice = "advice"
    reply = "reply"          # a care-team reply relayed to the patient
    escalation = "escalation"  # an urgent alert sent to an on-call member's chat
    confirm = "confirm"      # monitoring: please re-measure (before the team is alerted)


# Lower sends first when the rate limit is the bottleneck: medication before advice.
PRIORITY = {MessageKind.escalation: 0, MessageKind.reminder: 0, MessageKind.confirm: 0,
            MessageKind.nudge: 1,
            MessageKind.reply: 1, MessageKind.refill: 2, MessageKind.advice: 5}


class AlertKind(StrEnum):
    emergency = "emergency"
    symptom = "symptom"
    question = "question"
    missed_doses = "missed_doses"
    reading = "reading"
    unreachable = "unreachable"
    refill = "refill"
    schedule_change = "schedule_change"
    chat_changed = "chat_changed"    # a new code moved the patient to another chat
    trend = "trend"                  # monitoring: a drift from the patient's baseline
    forecast = "forecast"            # monitoring: a low predicted before it happens
    missing_data = "missing_data"    # monitoring: the readings the plan expects did not come


class AlertSeverity(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"
    # Monitoring: a warning the patient was asked to re-measure; not the team's yet (it
    # becomes `open` on a second reading out of range, a worrying answer or no answer).
    confirming = "confirming"
