"""Linking a chat to a patient with a one-time, expiring code from the care team.

Codes are stored only as a SHA-256 hash. Every refusal reads the same to the chat
(wrong, used or expired), and failed attempts are throttled per chat so codes cannot
be guessed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from assistant import audit
from assistant.db import utcnow
from assistant.errors import EnrolmentRefused
from assistant.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    ChatLink,
    EnrolmentAttempt,
    EnrolmentCode,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientStatus,
)

# No 0/O, 1/I/L: codes are typed by people from a printed sheet.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MAX_FAILED_PER_HOUR = 5
REFUSED = "That code is not valid. Please check it, or ask your care team for a new one."


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime

    def deep_link(self, bot_username: str) -> str:
        return f"https://t.me/{bot_username}?start={self.code}"


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())[:64]


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def issue_code(db: Session, *, patient: Patient, actor: str, hours: int) -> IssuedCode:
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = utcnow() + timedelta(hours=hours)
    db.add(EnrolmentCode(patient_id=patient.id, code_hash=code_hash(code),
                         expires_at=expires_at, created_by=actor))
    audit.record(db, actor=actor, action="enrolment.issue", patient_id=patient.id)
    return IssuedCode(code=code, expires_at=expires_at)


def is_throttled(db: Session, chat_id: str) -> bool:
    since = utcnow() - timedelta(hours=1)
    failed = db.exec(select(func.count()).select_from(EnrolmentAttempt).where(
        EnrolmentAttempt.chat_id == chat_id, EnrolmentAttempt.at >= since)).one()
    return failed >= MAX_FAILED_PER_HOUR


def _usable(db: Session, code: str) -> EnrolmentCode | None:
    row = db.exec(select(EnrolmentCode).where(EnrolmentCode.code_hash == code_hash(code))).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def check_code(db: Session, *, code: str, chat_id: str) -> Patient:
    """The patient a code would link, without using it; a refusal counts as a failed try."""
    if is_throttled(db, chat_id):
        raise EnrolmentRefused("Too many tries. Please wait an hour, or ask your care team.")
    row = _usable(db, code)
    patient = db.get(Patient, row.patient_id) if row else None
    if row is None or patient is None or patient.status == PatientStatus.stopped:
        # Kept even though the caller's unit of work fails: it is what throttles guessing.
        db.add(EnrolmentAttempt(chat_id=chat_id))
        db.commit()
        raise EnrolmentRefused(REFUSED)
    return patient


def redeem_code(db: Session, *, code: str, channel: str, chat_id: str) -> Patient:
    """Use the code and link the chat (after consent); any previous link of either side ends."""
    patient = check_code(db, code=code, chat_id=chat_id)
    now = utcnow()
    # The compare-and-set makes a code usable once even when two chats race for it.
    used = db.execute(update(EnrolmentCode)
                      .where(col(EnrolmentCode.code_hash) == code_hash(code),
                             col(EnrolmentCode.used_at).is_(None))
                      .values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise EnrolmentRefused(REFUSED)
    for link in db.exec(select(ChatLink).where(
            col(ChatLink.unlinked_at).is_(None),
            (ChatLink.patient_id == patient.id)
            | ((ChatLink.channel == channel) & (ChatLink.chat_id == chat_id)))):
        link.unlinked_at = now
    db.flush()
    db.add(ChatLink(patient_id=patient.id, channel=channel, chat_id=chat_id))
    patient.consent_at = now
    if patient.status == PatientStatus.stopped:
        patient.status = PatientStatus.active
    audit.record(db, actor="patient", action="chat.link", patient_id=patient.id,
                 detail=f"channel {channel}")
    return patient


def active_link(db: Session, channel: str, chat_id: str) -> ChatLink | None:
    return db.exec(select(ChatLink).where(ChatLink.channel == channel, ChatLink.chat_id == chat_id,
                                          col(ChatLink.unlinked_at).is_(None))).first()


def link_of(db: Session, patient_id: int) -> ChatLink | None:
    return db.exec(select(ChatLink).where(ChatLink.patient_id == patient_id,
                                          col(ChatLink.unlinked_at).is_(None))).first()


def linked_patient(db: Session, channel: str, chat_id: str) -> Patient | None:
    link = active_link(db, channel, chat_id)
    return db.get(Patient, link.patient_id) if link else None


def _drop_pending(db: Session, patient_id: int, reason: str) -> None:
    db.execute(update(OutboxMessage)
               .where(col(OutboxMessage.patient_id) == patient_id,
                      col(OutboxMessage.status) == OutboxStatus.pending)
               .values(status=OutboxStatus.dropped, last_error=reason))


def unlink(db: Session, *, channel: str, chat_id: str) -> Patient | None:
    """`/stop`: the chat gets nothing more until the team issues a new code."""
    link = active_link(db, channel, chat_id)
    if link is None:
        return None
    link.unlinked_at = utcnow()
    _drop_pending(db, link.patient_id, "chat unlinked")
    audit.record(db, actor="patient", action="chat.unlink", patient_id=link.patient_id)
    return db.get(Patient, link.patient_id)


def mark_unreachable(db: Session, *, channel: str, chat_id: str) -> None:
    """The chat blocked the bot: stop trying, and tell the care team once."""
    link = active_link(db, channel, chat_id)
    if link is None or link.unreachable_at is not None:
        return
    link.unreachable_at = utcnow()
    _drop_pending(db, link.patient_id, "chat unreachable")
    patient = db.get(Patient, link.patient_id)
    assert patient is not None
    db.add(Alert(patient_id=link.patient_id, team_id=patient.team_id,
                 kind=AlertKind.unreachable, severity=AlertSeverity.high,
                 summary="The patient's Telegram chat blocked the bot; reminders cannot be "
                         "delivered until the patient is enrolled again."))
