"""What a member holds once logged in: console sessions and API tokens.

A console session is a random id in the signed cookie; the database keeps only its hash, so
logout, a password change and deactivation end it. API tokens are kept as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from assistant.config import Settings
from assistant.services import audit
from assistant.storage.db import brief_write, engine_of, is_unavailable, utcnow
from assistant.storage.models import ApiToken, ConsoleSession, TeamMember

SESSION_TOUCH = timedelta(minutes=1)  # see _note_use
TOKEN_PREFIX = "cl_"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, settings: Settings, member: TeamMember) -> str:
    """A new console session for `member`; the returned id goes into the cookie."""
    now = utcnow()
    db.execute(delete(ConsoleSession).where(  # the member's sessions that ended for good
        col(ConsoleSession.member_id) == member.id, col(ConsoleSession.expires_at) < now))
    token = secrets.token_urlsafe(32)
    db.add(ConsoleSession(member_id=member.id, token_hash=_token_hash(token), created_at=now,
                          last_seen_at=now,
                          expires_at=now + timedelta(hours=settings.session_max_hours)))
    return token


def member_for_session(db: Session, settings: Settings, token: object) -> TeamMember | None:
    """The active member whose session this is, while it is neither revoked, nor unused for
    longer than the idle time, nor older than the maximum lifetime."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    row = db.exec(select(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token),
                                               col(ConsoleSession.revoked_at).is_(None))).first()
    now = utcnow()
    if (row is None or row.expires_at <= now
            or row.last_seen_at + timedelta(minutes=settings.session_minutes) <= now):
        return None
    member = db.get(TeamMember, row.member_id)
    if member is None or not member.active:
        return None
    if now - row.last_seen_at >= SESSION_TOUCH:
        _note_use(db, update(ConsoleSession).where(col(ConsoleSession.id) == row.id)
                  .values(last_seen_at=now))
    return member


def end_session(db: Session, token: object) -> None:
    """Logout: this session ends, wherever its cookie was copied to."""
    if isinstance(token, str):
        db.execute(update(ConsoleSession).where(
            col(ConsoleSession.token_hash) == _token_hash(token),
            col(ConsoleSession.revoked_at).is_(None)).values(revoked_at=utcnow()))


def end_sessions(db: Session, member_id: int, *, keep: object = None) -> None:
    """Every session of the member ends, but the one `keep` names."""
    query = update(ConsoleSession).where(col(ConsoleSession.member_id) == member_id,
                                         col(ConsoleSession.revoked_at).is_(None))
    if isinstance(keep, str):
        query = query.where(col(ConsoleSession.token_hash) != _token_hash(keep))
    db.execute(query.values(revoked_at=utcnow()))


def issue_token(db: Session, member: TeamMember, *, name: str, actor: str) -> str:
    """A new API token for `member`; shown once, only its hash is stored."""
    name = " ".join(name.split())[:60] or "API token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(ApiToken(member_id=member.id, name=name, token_hash=_token_hash(token)))
    audit.record(db, actor=actor, action="token.issue", detail=f"member {member.id}")
    return token


def tokens(db: Session, member_id: int) -> list[ApiToken]:
    """A member's API tokens, newest first."""
    return list(db.exec(select(ApiToken).where(ApiToken.member_id == member_id)
                        .order_by(col(ApiToken.created_at).desc())).all())


def member_for_token(db: Session, token: str) -> TeamMember | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = db.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(token),
                                         col(ApiToken.revoked_at).is_(None))).first()
    if row is None:
        return None
    member = db.get(TeamMember, row.member_id)
    if member is None or not member.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        _note_use(db, update(ApiToken).where(col(ApiToken.id) == row.id)
                  .values(last_used_at=now))
    return member


# When a token or session was last used is noted at most once a minute, and only when
# the database is free at once, so that a read never waits for (nor fails on) the write
# lock because of it.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def _note_use(db: Session, statement: Any) -> None:
    try:
        with brief_write(engine_of(db), wait_seconds=0.1) as conn:
            conn.execute(statement)
    except SQLAlchemyError as exc:
        if not is_unavailable(exc):
            raise
