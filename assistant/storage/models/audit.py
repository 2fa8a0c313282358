"""The audit log table: who read or changed what."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from assistant.storage.models.columns import created_time


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    at: datetime = created_time()
    actor: str = Field(max_length=120)      # "member:3", "cli", "patient", "system"
    action: str = Field(max_length=60)
    patient_id: int | None = Field(default=None, index=True)  # no FK: survives erasure
    # The team that may read the entry (the acting member's, else the patient's); none
    # for what no team did or owns (the CLI acting on an erased patient). No FK either.
    team_id: int | None = Field(default=None, index=True)
    detail: str = Field(default="", max_length=500)
