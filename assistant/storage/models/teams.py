"""Tables of care teams and their members: members, API tokens, console sessions, login
attempts, and the Telegram chats members link to get escalated alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from assistant.storage.db import UTCDateTime
from assistant.storage.models.columns import created_time, enum_field, json_field, utc_time
from assistant.storage.models.enums import (
    Role,
)


class CareTeam(SQLModel, table=True):
    __tablename__ = "care_teams"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    name: str = Field(max_length=120, unique=True)
    emergency_number: str | None = Field(default=None, max_length=32)
    crisis_line: str | None = Field(default=None, max_length=120)
    missed_alert_after: int = Field(default=2, ge=1)
    grace_minutes: int | None = Field(default=None, ge=0)
    followup_minutes: int | None = Field(default=None, ge=1)
    # {"glucose": {"low": 4.0, "high": 10.0}, ...}: a reading outside raises an alert
    reading_thresholds: dict[str, dict[str, float]] = json_field(dict)
    # A patient may move a dose time by up to this much themselves (0: the team decides)
    self_shift_minutes: int = Field(default=0, ge=0, le=720)
    # Escalation ladder: an urgent alert nobody acknowledged for this long goes to the next
    # member of `on_call` (member ids, in order; inactive members are skipped).
    escalate_after_minutes: int = Field(default=15, ge=1)
    on_call: list[int] = json_field(list)
    timezone: str = Field(default="UTC", max_length=64)   # new patients' default zone
    created_at: datetime = created_time()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    team_id: int = Field(foreign_key="care_teams.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    email: str = Field(max_length=254, unique=True)
    role: Role = enum_field(Role.clinician)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = created_time()


class ApiToken(SQLModel, table=True):
    """A member's token for the REST API; only its hash is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    member_id: int = Field(foreign_key="team_members.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_time()
    last_used_at: datetime | None = utc_time()
    revoked_at: datetime | None = utc_time()


class LoginAttempt(SQLModel, table=True):
    """Failed console logins (and those being checked), to rate-limit password guessing
    per email and address together, and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    key: str = Field(max_length=300, index=True)     # "pair:EMAIL ADDRESS" or "ip:ADDRESS"
    at: datetime = created_time()


class ConsoleSession(SQLModel, table=True):
    """A console login. The browser's cookie carries a random id, only its hash is kept
    here; logout, a password change and deactivation revoke it."""

    __tablename__ = "console_sessions"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    member_id: int = Field(foreign_key="team_members.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_time()
    last_seen_at: datetime = created_time()  # ends after CARELOOP_SESSION_MINUTES idle
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # however busy
    revoked_at: datetime | None = utc_time()


class MemberChat(SQLModel, table=True):
    """A member's own chat, linked with a one-time code from their account page: escalated
    alerts go there. It is never a patient's conversation."""

    __tablename__ = "member_chats"
    __table_args__ = (
        Index("uq_member_chats_active_chat", "channel", "chat_id", unique=True,
              sqlite_where=text("unlinked_at IS NULL"),
              postgresql_where=text("unlinked_at IS NULL")),
        {"sqlite_autoincrement": True})
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    member_id: int = Field(foreign_key="team_members.id", index=True, ondelete="CASCADE")
    channel: str = Field(default="telegram", max_length=16)
    chat_id: str = Field(max_length=64)
    linked_at: datetime = created_time()
    unlinked_at: datetime | None = utc_time()


class MemberCode(SQLModel, table=True):
    """A one-time code a member sends as `/start CODE` to link their chat (hash only)."""

    __tablename__ = "member_codes"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int = Field(default=None, primary_key=True)  # set by the database on insert
    member_id: int = Field(foreign_key="team_members.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = utc_time()
    created_at: datetime = created_time()
