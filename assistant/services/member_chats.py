"""Care-team members' own chats: a member links their Telegram chat with a one-time code
from their account page (`/start CODE` to the bot), and escalated alerts go there.

A member's chat is never a patient's: the channel's flow answers it with a short text and
no conversation. Codes are kept only as a keyed hash and expire; a wrong code counts as a
failed enrolment try (the same throttle as patients' codes, so codes cannot be guessed
through this door either).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from assistant.services import audit, enrolment
from assistant.storage.db import utcnow
from assistant.storage.keys import keyed_hash
from assistant.storage.models import MemberChat, MemberCode, TeamMember

log = logging.getLogger(__name__)

CODE_HOURS = 1  # the member is at their screen: a short-lived code


def _hash(code: str) -> str:
    return keyed_hash(enrolment.normalise(code), purpose="member-chat")


def issue_code(db: Session, *, member: TeamMember, actor: str) -> tuple[str, datetime]:
    """A new code for the member (their older unused ones stop working) and its expiry."""
    code = "".join(secrets.choice(enrolment.ALPHABET) for _ in range(enrolment.CODE_LENGTH))
    now = utcnow()
    db.execute(update(MemberCode)
               .where(col(MemberCode.member_id) == member.id, col(MemberCode.used_at).is_(None),
                      col(MemberCode.expires_at) > now)
               .values(expires_at=now))
    expires_at = now + timedelta(hours=CODE_HOURS)
    db.add(MemberCode(member_id=member.id, code_hash=_hash(code), expires_at=expires_at))
    audit.record(db, actor=actor, action="member_chat.code", detail=f"member {member.id}")
    return code, expires_at


def redeem(db: Session, *, code: str, channel: str, chat_id: str) -> TeamMember | None:
    """Link the chat to the member whose code this is; None when it is no member's usable
    code (then it may be a patient's: the caller goes on with the patient's way in). A
    throttled chat gets None too, and the patient's way says so. A chat linked to a
    patient is not taken over."""
    if enrolment.is_throttled(db, chat_id) or enrolment.active_link(db, channel, chat_id):
        return None
    now = utcnow()
    row = db.exec(select(MemberCode).where(MemberCode.code_hash == _hash(code))).first()
    member = db.get(TeamMember, row.member_id) if row else None
    if row is None or member is None or not member.active:
        return None
    used = db.execute(update(MemberCode)
                      .where(col(MemberCode.id) == row.id, col(MemberCode.used_at).is_(None),
                             col(MemberCode.expires_at) > now)
                      .values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    for old in db.exec(select(MemberChat).where(
            col(MemberChat.unlinked_at).is_(None),
            (MemberChat.member_id == member.id)
            | ((MemberChat.channel == channel) & (MemberChat.chat_id == chat_id)))):
        old.unlinked_at = now
    db.flush()
    db.add(MemberChat(member_id=member.id, channel=channel, chat_id=chat_id))
    audit.record(db, actor=f"member:{member.id}", action="member_chat.link",
                 detail=f"channel {channel}")
    log.info("chat linked to member %s", member.id)
    return member


def linked_member(db: Session, channel: str, chat_id: str) -> TeamMember | None:
    """The member whose chat this is, if any."""
    chat = db.exec(select(MemberChat).where(
        MemberChat.channel == channel, MemberChat.chat_id == chat_id,
        col(MemberChat.unlinked_at).is_(None))).first()
    return db.get(TeamMember, chat.member_id) if chat else None


def chat_of(db: Session, member_id: int) -> MemberChat | None:
    return db.exec(select(MemberChat).where(MemberChat.member_id == member_id,
                                            col(MemberChat.unlinked_at).is_(None))).first()


def unlink(db: Session, *, member_id: int, actor: str) -> bool:
    """The member's chat gets nothing more (from the account page, or /stop in the chat)."""
    chat = chat_of(db, member_id)
    if chat is None:
        return False
    chat.unlinked_at = utcnow()
    db.add(chat)
    audit.record(db, actor=actor, action="member_chat.unlink", detail=f"member {member_id}")
    return True
