"""A message from the care team to a patient, sent to the patient's chat through the
outbox (the team answering an alert, say: then a step of the alert's history)."""

from __future__ import annotations

from sqlmodel import Session

from assistant import texts
from assistant.errors import InvalidInput
from assistant.services import alerts, audit, enrolment
from assistant.storage.models import PRIORITY, Alert, MessageKind, OutboxMessage, Patient


def reply(db: Session, patient: Patient, text: str, *, actor: str) -> OutboxMessage:
    """A message from the care team, sent to the patient's chat through the outbox."""
    text = text.strip()
    if not text:
        raise InvalidInput("text: the reply is empty")
    if len(text) > 3500:
        raise InvalidInput("text: at most 3500 characters")
    if enrolment.link_of(db, patient.id) is None:
        raise InvalidInput("the patient has no linked chat yet: give them an enrolment code")
    message = OutboxMessage(patient_id=patient.id, kind=MessageKind.reply,
                            priority=PRIORITY[MessageKind.reply],
                            text=texts.t("reply.from_team", patient.language, text=text))
    db.add(message)
    db.flush()
    audit.record(db, actor=actor, action="patient.reply", patient_id=patient.id,
                 detail=f"outbox {message.id}")
    return message


def answer_alert(db: Session, alert: Alert, text: str, *, actor: str) -> OutboxMessage:
    """The team's reply to the patient an alert is about, kept in the alert's history."""
    patient = db.get(Patient, alert.patient_id)
    if patient is None:
        raise InvalidInput("the alert's patient is gone")
    message = reply(db, patient, text, actor=actor)
    alerts.record_event(db, alert, "replied", actor=actor, note=text.strip())
    return message
