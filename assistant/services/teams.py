"""Care teams and their members: adding them and finding them.

Small keyword-only functions shared by the CLI, the console/API and the demo. Each
validates everything before it writes anything, and records an audit entry.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from assistant.domain.fields import clean_text
from assistant.errors import InvalidInput, NotFound
from assistant.services import audit
from assistant.storage.models import CareTeam, Role, TeamMember


def add_team(db: Session, *, name: str, actor: str) -> CareTeam:
    name = clean_text(name, "team name", 120)
    if db.exec(select(CareTeam).where(CareTeam.name == name)).first():
        raise InvalidInput(f"a team named {name!r} already exists")
    team = CareTeam(name=name)
    db.add(team)
    db.flush()
    audit.record(db, actor=actor, action="team.add", detail=f"team {team.id}")
    return team


def get_team(db: Session, team: str | int) -> CareTeam:
    """A team by id or by name."""
    query = select(CareTeam).where(
        CareTeam.id == int(team) if str(team).isdigit() else CareTeam.name == str(team)
    )
    found = db.exec(query).first()
    if found is None:
        raise NotFound(f"no care team {team!r}; create it with `careloop team add NAME`")
    return found


def add_member(db: Session, *, team: CareTeam, name: str, email: str, role: Role,
               password_hash: str | None, actor: str) -> TeamMember:
    email = clean_text(email, "email", 254).lower()
    if "@" not in email:
        raise InvalidInput(f"{email!r} is not an email address")
    if db.exec(select(TeamMember).where(TeamMember.email == email)).first():
        raise InvalidInput(f"a member with email {email} already exists")
    member = TeamMember(team_id=team.id, name=clean_text(name, "name", 120), email=email, role=role,
                        password_hash=password_hash)
    db.add(member)
    db.flush()
    audit.record(db, actor=actor, action="member.add", detail=f"member {member.id}")
    return member


def members(db: Session, team_id: int) -> list[TeamMember]:
    return list(db.exec(select(TeamMember).where(TeamMember.team_id == team_id)
                        .order_by(col(TeamMember.name))).all())
