"""Console: the team's settings and members (admins)."""

from __future__ import annotations

import math

from fastapi import HTTPException, Request
from fastapi.responses import Response

from assistant.domain.fields import clean_text
from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, ConsoleCaller, Id, require_admin
from assistant.interfaces.web.pages.common import Text, back, render, router
from assistant.services import accounts, audit, readings, sessions, teams
from assistant.storage.models import CareTeam, Role, TeamMember


@router.get("/settings")
def settings_page(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    require_admin(caller)
    return render(request, "settings.html", caller, team=db.get(CareTeam, caller.team_id),
                  members=teams.members(db, caller.team_id), measures=readings.MEASURES,
                  roles=list(Role))


def _number(text: str, what: str) -> float | None:
    try:
        number = float(text) if text.strip() else None
    except ValueError:
        number = math.nan
    if number is not None and not math.isfinite(number):  # "nan", "inf", "1e400"
        raise InvalidInput(f"{what}: not a number")
    return number


@router.post("/settings", dependencies=[CSRF])
async def settings_save(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    require_admin(caller)
    form = await request.form()
    team = db.get(CareTeam, caller.team_id)
    assert team is not None

    def field(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    def whole(name: str, low: int, high: int) -> int | None:
        number = _number(field(name), name)
        if number is None:
            return None
        if number != int(number) or not low <= number <= high:
            raise InvalidInput(f"{name}: a whole number from {low} to {high}")
        return int(number)

    thresholds: dict[str, dict[str, float]] = {}
    for measure in readings.MEASURES:
        bounds = {bound: value for bound in ("low", "high")
                  if (value := _number(field(f"{measure}_{bound}"), f"{measure} {bound}"))
                  is not None}
        if bounds:
            thresholds[measure] = bounds
    team.reading_thresholds = readings.check_thresholds(thresholds)
    team.missed_alert_after = whole("missed_alert_after", 1, 30) or 2
    team.grace_minutes = whole("grace_minutes", 0, 24 * 60)
    team.followup_minutes = whole("followup_minutes", 1, 24 * 60)
    team.self_shift_minutes = whole("self_shift_minutes", 0, 720) or 0
    team.emergency_number = clean_text(field("emergency_number"), "emergency number",
                                                32, required=False) or None
    team.crisis_line = clean_text(field("crisis_line"), "crisis line", 120,
                                           required=False) or None
    db.add(team)
    audit.record(db, actor=caller.actor, action="team.update")
    return back(request, "Team settings saved.")


@router.post("/settings/members", dependencies=[CSRF])
def member_add(request: Request, db: DB, caller: ConsoleCaller, name: Text, email: Text,
               password: Text, role: Text = "clinician") -> Response:
    require_admin(caller)
    team = db.get(CareTeam, caller.team_id)
    assert team is not None
    if role not in Role.__members__:
        raise InvalidInput("role: admin or clinician")
    # The password is judged first, and an email taken in any team gets one answer: the
    # form must not tell whether an address is in use in another team.
    password_hash = accounts.hash_password(password, name=name, email=email)
    teams.add_member(db, team=team, name=name, email=email, role=Role(role),
                        password_hash=password_hash, actor=caller.actor)
    return back(request, f"{name} can now log in.")


@router.post("/settings/members/{member_id}/deactivate", dependencies=[CSRF])
def member_deactivate(request: Request, db: DB, caller: ConsoleCaller,
                      member_id: Id) -> Response:
    require_admin(caller)
    member = db.get(TeamMember, member_id)
    if member is None or member.team_id != caller.team_id:
        raise HTTPException(404, "no such member")
    if member.id == caller.member.id:
        raise InvalidInput("you cannot deactivate yourself")
    member.active = False
    db.add(member)
    sessions.end_sessions(db, member.id)
    audit.record(db, actor=caller.actor, action="member.deactivate", detail=f"member {member.id}")
    return back(request, f"{member.name} can no longer log in.")
