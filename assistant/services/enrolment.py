"""Linking a chat to a patient with a one-time, expiring code from the care team.

Codes are stored only as a hash keyed with the server's secret; a new code revokes the
patient's older ones. Every refusal reads the same to the chat (wrong, used or expired),
and failed attempts are throttled per chat and across all chats so codes cannot be
guessed. A code never moves a patient (or a chat) silently: the care team is alerted,
and the channel's flow tells the previous chat first.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, func, select

from assistant import texts
from assistant.config import get_settings
from assistant.errors import EnrolmentRefused
from assistant.services import alerts, audit
from assistant.storage.db import get_row, utcnow
from assistant.storage.keys import keyed_hash
from assistant.storage.models import (
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

log = logging.getLogger(__name__)

# No 0/O, 1/I/L: codes are typed by people from a printed sheet.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MAX_FAILED_PER_HOUR = 5  # per chat; CARELOOP_ENROLMENT_FAILURES_PER_HOUR for all chats


@dataclass(frozen=True)
class IssuedCode:
    """A code as the care team hands it over (the link that carries it is the channel's)."""

    code: str
    expires_at: datetime


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())[:64]


def code_hash(code: str) -> str:
    """The stored form of a code: a leaked table without the server's key tells nothing."""
    return keyed_hash(normalise(code), purpose="enrolment")


def issue_code(db: Session, *, patient: Patient, actor: str, hours: int) -> IssuedCode:
    """A new code for the patient; their older codes not yet used stop working now."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    now = utcnow()
    expires_at = now + timedelta(hours=hours)
    db.execute(update(EnrolmentCode)
               .where(col(EnrolmentCode.patient_id) == patient.id,
                      col(EnrolmentCode.used_at).is_(None), col(EnrolmentCode.expires_at) > now)
               .values(expires_at=now))
    db.add(EnrolmentCode(patient_id=patient.id, code_hash=code_hash(code),
                         expires_at=expires_at, created_by=actor))
    audit.record(db, actor=actor, action="enrolment.issue", patient_id=patient.id)
    return IssuedCode(code=code, expires_at=expires_at)


def is_throttled(db: Session, chat_id: str) -> bool:
    """Too many wrong codes in the last hour from this chat, or from all chats together."""
    since = utcnow() - timedelta(hours=1)
    recent = select(func.count()).select_from(EnrolmentAttempt).where(
        EnrolmentAttempt.at >= since)
    if db.exec(recent.where(EnrolmentAttempt.chat_id == chat_id)).one() >= MAX_FAILED_PER_HOUR:
        return True
    if db.exec(recent).one() >= get_settings().enrolment_failures_per_hour:
        log.warning("enrolment paused: too many wrong codes from all chats in the last hour")
        return True
    return False


def _usable(db: Session, code: str) -> EnrolmentCode | None:
    row = db.exec(select(EnrolmentCode).where(EnrolmentCode.code_hash == code_hash(code))).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def check_code(db: Session, *, code: str, chat_id: str, language: str | None = None) -> Patient:
    """The patient a code would link, without using it; a refusal counts as a failed try
    (said in `language`, the phone's: the patient is not known)."""
    if is_throttled(db, chat_id):
        raise EnrolmentRefused(texts.t("join.throttled", language))
    row = _usable(db, code)
    patient = db.get(Patient, row.patient_id) if row else None
    if row is None or patient is None or patient.status == PatientStatus.stopped:
        # Kept even though the caller's unit of work fails: it is what throttles guessing.
        db.execute(delete(EnrolmentAttempt).where(
            col(EnrolmentAttempt.at) < utcnow() - timedelta(days=1)))
        db.add(EnrolmentAttempt(chat_id=chat_id))
        db.commit()
        raise EnrolmentRefused(texts.t("join.refused", language))
    return patient


def moving_from(db: Session, *, code: str, channel: str, chat_id: str,
                language: str | None = None) -> tuple[str, str, str] | None:
    """Checks the code; the patient's other chat that redeeming it would unlink (channel,
    chat id) and the patient's language."""
    patient = check_code(db, code=code, chat_id=chat_id, language=language)
    link = link_of(db, patient.id)
    if link is None or (link.channel, link.chat_id) == (channel, chat_id):
        return None
    return link.channel, link.chat_id, patient.language


def redeem_code(db: Session, *, code: str, channel: str, chat_id: str,
                previous_told: bool = False, language: str | None = None) -> Patient:
    """Use the code and link the chat (after consent); any previous link of either side
    ends, and the care team of a patient whose chat changed (or who lost theirs to this
    one) gets an alert. `previous_told`: the patient's previous chat was told already."""
    patient = check_code(db, code=code, chat_id=chat_id, language=language)
    now = utcnow()
    # The compare-and-set makes a code usable once even when two chats race for it, and
    # never after a newer code revoked it.
    used = db.execute(update(EnrolmentCode)
                      .where(col(EnrolmentCode.code_hash) == code_hash(code),
                             col(EnrolmentCode.used_at).is_(None),
                             col(EnrolmentCode.expires_at) > now)
                      .values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise EnrolmentRefused(texts.t("join.refused", language))
    for link in db.exec(select(ChatLink).where(
            col(ChatLink.unlinked_at).is_(None),
            (ChatLink.patient_id == patient.id)
            | ((ChatLink.channel == channel) & (ChatLink.chat_id == chat_id)))):
        link.unlinked_at = now
        if (link.channel, link.chat_id) != (channel, chat_id):
            _alert_moved(db, patient, told=previous_told)
        elif link.patient_id != patient.id:
            _alert_chat_taken(db, link.patient_id)
    db.flush()
    db.add(ChatLink(patient_id=patient.id, channel=channel, chat_id=chat_id))
    patient.consent_at = now
    if patient.status == PatientStatus.stopped:
        patient.status = PatientStatus.active
    audit.record(db, actor="patient", action="chat.link", patient_id=patient.id,
                 detail=f"channel {channel}")
    return patient


def _alert_moved(db: Session, patient: Patient, *, told: bool) -> None:
    alerts.raise_alert(
        db, patient=patient, kind=AlertKind.chat_changed, severity=AlertSeverity.high,
        summary=texts.t("alert.chat_moved_told" if told else "alert.chat_moved_untold"))


def _alert_chat_taken(db: Session, patient_id: int) -> None:
    patient = db.get(Patient, patient_id)
    if patient is not None:
        alerts.raise_alert(
            db, patient=patient, kind=AlertKind.chat_changed, severity=AlertSeverity.high,
            summary=texts.t("alert.chat_taken"))


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
                      col(OutboxMessage.member_id).is_(None),  # a member's: not the chat's
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
    alerts.raise_alert(db, patient=get_row(db, Patient, link.patient_id, "patient"),
                       kind=AlertKind.unreachable, severity=AlertSeverity.high,
                       summary=texts.t("alert.unreachable"))
