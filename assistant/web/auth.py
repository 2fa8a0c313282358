"""Who is calling the console or the API: care-team members by password (console) or by
API token (REST). Passwords are argon2id hashes, tokens are kept as SHA-256 hashes,
failed logins are counted per email and per address to stop guessing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from assistant import audit
from assistant.db import brief_write, engine_of, is_unavailable, utcnow
from assistant.errors import CareLoopError, InvalidInput
from assistant.models import ApiToken, LoginAttempt, Role, TeamMember
from assistant.settings import Settings

MIN_PASSWORD = 10
# One address may fail this many times the per-email limit: a clinic's PCs share one.
ADDRESS_FACTOR = 3
TOKEN_PREFIX = "cl_"
_hasher = PasswordHasher()
# Verified against when the email is unknown, so that both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class TooManyAttempts(CareLoopError):
    """Too many failed logins from this email or address in the last hour."""


@dataclass(frozen=True)
class Caller:
    member: TeamMember

    @property
    def team_id(self) -> int:
        return self.member.team_id

    @property
    def actor(self) -> str:
        return f"member:{self.member.id}"

    @property
    def is_admin(self) -> bool:
        return self.member.role == Role.admin


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def set_password(db: Session, member: TeamMember, password: str, *, actor: str) -> None:
    member.password_hash = hash_password(password)
    db.add(member)
    audit.record(db, actor=actor, action="member.password", detail=f"member {member.id}")


def _failures(db: Session, key: str) -> int:
    since = utcnow() - timedelta(hours=1)
    return db.exec(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.key == key, LoginAttempt.at >= since)).one()


def login(db: Session, settings: Settings, *, email: str, password: str,
          address: str) -> TeamMember | None:
    """The member with these credentials, or None (and the failure is counted).
    Raises `TooManyAttempts` before checking anything once the limit is reached."""
    email = email.strip().lower()[:254]
    limit = settings.login_failures_per_hour
    keys = [f"email:{email}", f"ip:{address}"[:300]]
    if _failures(db, keys[0]) >= limit or _failures(db, keys[1]) >= limit * ADDRESS_FACTOR:
        raise TooManyAttempts("too many failed logins; try again in an hour")
    member = db.exec(select(TeamMember).where(TeamMember.email == email)).first()
    stored = member.password_hash if member and member.active and member.password_hash else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
        ok = stored is not None
    except (VerifyMismatchError, InvalidHashError):
        ok = False
    if not ok or member is None:
        db.add_all([LoginAttempt(key=key) for key in keys])
        return None
    if _hasher.check_needs_rehash(stored or ""):
        member.password_hash = _hasher.hash(password)
    audit.record(db, actor=f"member:{member.id}", action="member.login")
    return member


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Session, member: TeamMember, *, name: str, actor: str) -> str:
    """A new API token for `member`; shown once, only its hash is stored."""
    name = " ".join(name.split())[:60] or "API token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(ApiToken(member_id=member.id, name=name, token_hash=_token_hash(token)))
    audit.record(db, actor=actor, action="token.issue", detail=f"member {member.id}")
    return token


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
        _note_use(db, row.id, now)
    return member


# When a token was last used is for people ("3 minutes ago"): noted at most once a
# minute, and only when the database is free at once, so that a read never waits for
# (nor fails on) the write lock because of it.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def _note_use(db: Session, token_id: int, now: datetime) -> None:
    try:
        with brief_write(engine_of(db), wait_seconds=0.1) as conn:
            conn.execute(update(ApiToken).where(col(ApiToken.id) == token_id)
                         .values(last_used_at=now))
    except SQLAlchemyError as exc:
        if not is_unavailable(exc):
            raise


def secret_key(settings: Settings) -> str:
    """The key that signs session cookies: the configured one, else one made once and
    kept (readable by the owner only) in the data directory."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()
