"""The audit log: who read or changed which patient's data, and when."""

from __future__ import annotations

from sqlmodel import Session

from assistant.models import AuditEntry


def record(db: Session, *, actor: str, action: str, patient_id: int | None = None,
           detail: str = "") -> None:
    """Add an entry to the unit of work; it commits (or not) with the change it describes."""
    db.add(AuditEntry(actor=actor, action=action, patient_id=patient_id, detail=detail[:500]))
