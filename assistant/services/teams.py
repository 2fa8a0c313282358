"""Care teams and their members: adding them, finding them, and a team's settings.

Small keyword-only functions shared by the CLI, the console/API and the demo. Each
validates everything before it writes anything, and records an audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select

from assistant.config import get_settings
from assistant.domain import zones
from assistant.domain.fields import clean_text
from assistant.errors import InvalidInput, NotFound
from assistant.services import audit, readings
from assistant.storage.models import CareTeam, Role, TeamMember


def add_team(db: Session, *, name: str, actor: str) -> CareTeam:
    name = clean_text(name, "team name", 120)
    if db.exec(select(CareTeam).where(CareTeam.name == name)).first():
        raise InvalidInput(f"a team named {name!r} already exists")
    team = CareTeam(name=name, timezone=_place_or_utc(get_settings().timezone))
    db.add(team)
    db.flush()
    audit.record(db, actor=actor, action="team.add", detail=f"team {team.id}")
    return team


def _place_or_utc(tz_name: str) -> str:
    """The installation's zone as a team's first (new patients' default), if a place's."""
    try:
        zones.place_zone(tz_name)
    except InvalidInput:
        return "UTC"
    return tz_name


def get_team(db: Session, team: str | int) -> CareTeam:
    """A team by id or by name."""
    query = select(CareTeam).where(
        CareTeam.id == int(team) if str(team).isdigit() else CareTeam.name == str(team)
    )
    found = db.exec(query).first()
    if found is None:
        raise NotFound(f"no care team {team!r}; create it with `careloop team add NAME`")
    return found


# A team's settings and their limits, checked here for the API and the console alike (the
# API's schema documents the same limits from these tables).
WHOLE_NUMBERS: dict[str, tuple[int, int]] = {
    "missed_alert_after": (1, 30), "grace_minutes": (0, 24 * 60),
    "followup_minutes": (1, 24 * 60), "self_shift_minutes": (0, 720),
    "escalate_after_minutes": (1, 24 * 60)}
TEXTS: dict[str, int] = {"emergency_number": 32, "crisis_line": 120}
KEPT = ("missed_alert_after", "self_shift_minutes",
        "escalate_after_minutes", "timezone")  # changed, never removed
MAX_ON_CALL = 50


def change_settings(db: Session, team: CareTeam, changes: Mapping[str, Any], *,
                    actor: str) -> CareTeam:
    """Set some of a team's settings (None removes one); every value is checked before
    any is set. Reading thresholds come as {measure: {"low": x, "high": y}}; a None bound
    is left out, and so is a measure with neither."""
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None and key in KEPT:
            raise InvalidInput(f"{key}: cannot be removed, only changed")
        if key in WHOLE_NUMBERS:
            low, high = WHOLE_NUMBERS[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not low <= value <= high):
                raise InvalidInput(f"{key}: a whole number from {low} to {high}")
        elif key in TEXTS:
            value = None if value is None else clean_text(
                value, key.replace("_", " "), TEXTS[key], required=False) or None
        elif key == "timezone":  # new patients' zone: a place's, as a patient's must be
            value = clean_text(value, "timezone", 64)
            zones.place_zone(value)
        elif key == "reading_thresholds":
            kept = {measure: {bound: v for bound, v in bounds.items() if v is not None}
                    for measure, bounds in (value or {}).items()}
            value = readings.check_thresholds({m: b for m, b in kept.items() if b})
        else:
            raise InvalidInput(f"{key}: not a team setting")
        checked[key] = value
    for key, value in checked.items():
        setattr(team, key, value)
    db.add(team)
    audit.record(db, actor=actor, action="team.update", detail=", ".join(sorted(checked)))
    return team


def add_member(db: Session, *, team: CareTeam, name: str, email: str, role: Role,
               password_hash: str | None, actor: str) -> TeamMember:
    email = clean_text(email, "email", 254).lower()
    if "@" not in email:
        raise InvalidInput(f"email: {email!r} is not an email address")
    if db.exec(select(TeamMember).where(TeamMember.email == email)).first():
        raise InvalidInput(f"email: a member with email {email} already exists")
    member = TeamMember(team_id=team.id, name=clean_text(name, "name", 120), email=email, role=role,
                        password_hash=password_hash)
    db.add(member)
    db.flush()
    audit.record(db, actor=actor, action="member.add", detail=f"member {member.id}")
    return member


def update_member(db: Session, member: TeamMember, *, name: str, role: Role,
                  actor: str) -> TeamMember:
    """A member's name and role; a team keeps at least one active admin."""
    name = clean_text(name, "name", 120)
    if member.role == Role.admin and role != Role.admin and member.active and not any(
            m.role == Role.admin and m.active and m.id != member.id
            for m in members(db, member.team_id)):
        raise InvalidInput("role: the team needs another active admin first")
    member.name, member.role = name, role
    db.add(member)
    audit.record(db, actor=actor, action="member.update", detail=f"member {member.id}")
    return member


def members(db: Session, team_id: int) -> list[TeamMember]:
    return list(db.exec(select(TeamMember).where(TeamMember.team_id == team_id)
                        .order_by(col(TeamMember.name))).all())


def set_on_call(db: Session, team: CareTeam, member_ids: Sequence[Any], *,
                actor: str) -> CareTeam:
    """The team's on-call list, in escalation order: active members of the team, each
    once. A member deactivated later stays listed and is skipped."""
    if len(member_ids) > MAX_ON_CALL:
        raise InvalidInput(f"member_ids: at most {MAX_ON_CALL} members")
    active = {m.id for m in members(db, team.id) if m.active}
    for member_id in member_ids:
        if isinstance(member_id, bool) or not isinstance(member_id, int) \
                or member_id not in active:
            raise InvalidInput(f"member_ids: no active member {member_id!r} in this team")
    if len(set(member_ids)) != len(member_ids):
        raise InvalidInput("member_ids: a member is listed twice")
    team.on_call = list(member_ids)
    db.add(team)
    audit.record(db, actor=actor, action="team.on_call", detail=f"{len(member_ids)} members")
    return team
