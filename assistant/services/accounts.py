"""Care-team members' passwords and logins (who is calling: `Caller`); the sessions and
API tokens a login leads to are in `sessions.py`.

Passwords are argon2id hashes of passwords that are not easy to guess (zxcvbn).

Failed logins are throttled per email and address together (an attacker's address waits,
doubling each time; the nurse at another address does not) and per address across
emails. Each attempt is counted before its password is checked, in one step that
parallel attempts take in turn, so a burst cannot slip past the limit.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, text
from sqlmodel import Session, col, select
from zxcvbn import zxcvbn

from assistant.config import Settings
from assistant.errors import InvalidInput, TooManyAttempts
from assistant.services import audit
from assistant.services.sessions import end_sessions
from assistant.storage.db import utcnow
from assistant.storage.models import LoginAttempt, Role, TeamMember

MIN_PASSWORD = 10
# zxcvbn's 3: "safely unguessable" (about 10^10 guesses) against a throttled attacker.
MIN_PASSWORD_SCORE = 3
ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the start of a password tells enough
# One address may fail this many times the per-email limit in an hour, across emails:
# a clinic's PCs share one.
ADDRESS_FACTOR = 3
# After the limit, each failure for one email from one address doubles the wait.
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# Failures for one email from one address are forgotten after a day (or a success).
PAIR_MEMORY = timedelta(days=1)
ADDRESS_WINDOW = timedelta(hours=1)
# A session's last use is written at most this often, so that pages stay reads.
_hasher = PasswordHasher()
# Verified against when the email is unknown, so that both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


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


# Passwords ----------------------------------------------------------------------------------

def check_password(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Refuse a short password, or one easy to guess, saying why and what to do instead."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters")
    verdict = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[word.lower() for word in user_inputs])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        warning = str(verdict["feedback"]["warning"]).rstrip(".")
        reason = f" ({warning})" if warning else ""
        raise InvalidInput(
            f"password: too easy to guess{reason}. Use a few unrelated words (an uncommon "
            "phrase of three or four words is easy to type and hard to guess); avoid names, "
            "email addresses, dates, keyboard patterns and repeated characters")


def _personal(member: TeamMember | None = None, *, name: str = "",
              email: str = "") -> list[str]:
    """What a password must not be made of: the member's name and email."""
    name, email = (member.name, member.email) if member else (name, email)
    return [part for part in (name, email, email.split("@")[0], *name.split()) if part]


def hash_password(password: str, *, name: str = "", email: str = "") -> str:
    check_password(password, user_inputs=_personal(name=name, email=email))
    return _hasher.hash(password)


def set_password(db: Session, member: TeamMember, password: str, *, actor: str,
                 keep_session: str | None = None) -> None:
    """A new password; every session of the member ends but `keep_session` (the one that
    changed it)."""
    member.password_hash = hash_password(password, name=member.name, email=member.email)
    db.add(member)
    end_sessions(db, member.id, keep=keep_session)
    audit.record(db, actor=actor, action="member.password", detail=f"member {member.id}")


# Login throttling ---------------------------------------------------------------------------

def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _throttle(db: Session, keys: Sequence[str]) -> Iterator[Session]:
    """A short unit of work of its own, which attempts on the same keys take in turn."""
    with Session(db.get_bind(), expire_on_commit=False) as work:
        if work.get_bind().dialect.name == "postgresql":
            for key in sorted(keys):  # one order everywhere: no deadlock
                work.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(key)})
        # Old attempts go; on SQLite this first write also takes the database's one write
        # lock, which serialises the attempts. Rows another pruner holds are skipped.
        old = (select(LoginAttempt.id).where(LoginAttempt.at < utcnow() - PAIR_MEMORY)
               .limit(500).with_for_update(skip_locked=True))
        work.execute(delete(LoginAttempt).where(col(LoginAttempt.id).in_(old)))
        yield work
        work.commit()


def _times(db: Session, key: str, since: datetime) -> list[datetime]:
    return list(db.exec(select(LoginAttempt.at).where(
        LoginAttempt.key == key, LoginAttempt.at >= since).order_by(col(LoginAttempt.at))))


def _wait(db: Session, settings: Settings, pair: str, address: str,
          now: datetime) -> timedelta:
    """How long these keys must wait before another try (zero: they may try now)."""
    limit = settings.login_failures_per_hour
    waits = [timedelta(0)]
    failed = _times(db, pair, now - PAIR_MEMORY)
    if len(failed) >= limit:
        doubling = min(len(failed) - limit, 6)
        waits.append(failed[-1] + min(FIRST_WAIT * 2 ** doubling, LONGEST_WAIT) - now)
    from_address = _times(db, address, now - ADDRESS_WINDOW)
    if len(from_address) >= limit * ADDRESS_FACTOR:
        waits.append(from_address[-limit * ADDRESS_FACTOR] + ADDRESS_WINDOW - now)
    return max(waits)


def _refusal(wait: timedelta) -> TooManyAttempts:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return TooManyAttempts(f"too many failed logins; try again in {minutes} minute"
                           f"{'s' if minutes > 1 else ''}, or ask a team admin")


def verify(db: Session, settings: Settings, *, email: str, password: str,
           address: str) -> TeamMember | None:
    """The active member with these credentials, or None. Each try counts as a failure
    until it succeeds; `TooManyAttempts` comes before any check once the limit is
    reached."""
    email = email.strip().lower()[:254]
    pair, from_address = f"pair:{email} {address}"[:300], f"ip:{address}"[:300]
    with _throttle(db, [pair, from_address]) as work:
        now = utcnow()
        wait = _wait(work, settings, pair, from_address, now)
        if wait > timedelta(0):
            raise _refusal(wait)
        tries = [LoginAttempt(key=pair, at=now), LoginAttempt(key=from_address, at=now)]
        work.add_all(tries)
        work.flush()
        counted = [attempt.id for attempt in tries]
    member = db.exec(select(TeamMember).where(TeamMember.email == email)).first()
    stored = member.password_hash if member and member.active and member.password_hash else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
        ok = stored is not None
    except (VerifyMismatchError, InvalidHashError):
        ok = False
    if not ok or member is None:
        return None
    # A success starts the pair over and is not a failure of the address. (In the caller's
    # unit of work: a second connection per login could exhaust the pool under a storm.)
    db.execute(delete(LoginAttempt).where(
        (col(LoginAttempt.key) == pair) | col(LoginAttempt.id).in_(counted)))
    if _hasher.check_needs_rehash(stored or ""):
        member.password_hash = _hasher.hash(password)
    return member


def login(db: Session, settings: Settings, *, email: str, password: str,
          address: str) -> TeamMember | None:
    """The member with these credentials (the login is audited), or None."""
    member = verify(db, settings, email=email, password=password, address=address)
    if member is not None:
        audit.record(db, actor=f"member:{member.id}", action="member.login")
    return member
