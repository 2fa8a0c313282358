"""The storage tables: the database is CareLoop's source of truth.

Teams and their members; patients, the chat linked to each and the one-time codes that
link them; medications with their dose schedules and every dose occurrence with its
outcome; the outbox of messages to send; readings, alerts, advice and the audit log; the
ids of the updates a webhook received. One module per group of tables (teams, patients,
medications, outbox, care, audit, updates),
with the shared vocabularies in enums; importing this package registers every table.
Schema changes go through Alembic (`assistant/storage/migrations`), never `create_all`.

Every table is `sqlite_autoincrement`: SQLite otherwise gives a deleted row's id to the
next row, and an id must never come back (an erased patient's audit trail would pass to
the next patient). PostgreSQL's sequences never go back anyway.
"""

from __future__ import annotations

from assistant.storage.models.audit import AuditEntry
from assistant.storage.models.care import (
    AdviceDelivery,
    AdviceItem,
    Alert,
    AlertEscalation,
    AlertEvent,
    AlertSnooze,
    MeasureTarget,
    Reading,
)
from assistant.storage.models.enums import (
    OPEN_DOSE_STATUSES,
    PRIORITY,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    DoseStatus,
    MessageKind,
    OutboxStatus,
    PatientStatus,
    Role,
)
from assistant.storage.models.medications import DoseOccurrence, DoseSchedule, Medication
from assistant.storage.models.outbox import OutboxMessage
from assistant.storage.models.patients import (
    ChatLink,
    EnrolmentAttempt,
    EnrolmentCode,
    Patient,
    new_chat_ref,
)
from assistant.storage.models.teams import (
    ApiToken,
    CareTeam,
    ConsoleSession,
    LoginAttempt,
    MemberChat,
    MemberCode,
    TeamMember,
)
from assistant.storage.models.updates import ChannelUpdate

__all__ = [
    "AdviceDelivery",
    "AdviceItem",
    "Alert",
    "AlertEscalation",
    "AlertEvent",
    "AlertSnooze",
    "MeasureTarget",
    "AlertKind",
    "AlertSeverity",
    "AlertStatus",
    "ApiToken",
    "AuditEntry",
    "CareTeam",
    "ChannelUpdate",
    "ChatLink",
    "ConsoleSession",
    "DoseOccurrence",
    "DoseSchedule",
    "DoseStatus",
    "EnrolmentAttempt",
    "EnrolmentCode",
    "LoginAttempt",
    "MemberChat",
    "MemberCode",
    "Medication",
    "MessageKind",
    "OPEN_DOSE_STATUSES",
    "OutboxMessage",
    "OutboxStatus",
    "PRIORITY",
    "Patient",
    "PatientStatus",
    "Reading",
    "Role",
    "TeamMember",
    "new_chat_ref",
]
