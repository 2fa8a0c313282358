"""Console: the team's settings (with its time zone, new patients' default), members and
on-call list (admins), and its alert burden; deactivating a member asks first."""

from __future__ import annotations

import math
from functools import partial

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from assistant.domain import zones
from assistant.errors import InvalidInput, NotFound
from assistant.interfaces.web.deps import CSRF, DB, ConsoleCaller, Id, require_admin
from assistant.interfaces.web.pages import forms
from assistant.interfaces.web.pages.common import back, render, router
from assistant.services import accounts, audit, burden, member_chats, readings, sessions, teams
from assistant.storage.models import Role, TeamMember


@router.get("/settings")
def settings_page(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    require_admin(caller)
    return _settings(request, db, caller)


def _settings(request: Request, db: DB, caller: ConsoleCaller,
              fs: forms.FormState = forms.NO_ERRORS) -> HTMLResponse:
    members = teams.members(db, caller.team_id)
    team = teams.get_team(db, caller.team_id)
    found = burden.alert_burden(db, caller.team_id)
    audit.record_list_view(db, actor=caller.actor, action="alerts.burden", patient_ids=[
        b.patient_id for b in found.patients[:BURDEN_ROWS] if b.patient_id])
    return render(request, "settings.html", caller, code=422 if fs.errors else 200, fs=fs,
                  team=team, members=members, measures=readings.MEASURES, roles=list(Role),
                  on_call={member_id: n + 1 for n, member_id in enumerate(team.on_call)},
                  linked={m.id for m in members if member_chats.chat_of(db, m.id)},
                  burden=found, burden_rows=BURDEN_ROWS,
                  zones=zones.zone_choices(first=team.timezone))


BURDEN_ROWS = 10  # the patients with most alerts; the API gives them all


def _number(text: str, what: str) -> float | None:
    try:
        number = float(text) if text.strip() else None
    except ValueError:
        number = math.nan
    if number is not None and not math.isfinite(number):  # "nan", "inf", "1e400"
        raise InvalidInput(f"{what}: not a number")
    return number


TEAM_FIELDS = {"timezone": "Time zone", "missed_alert_after": "Alert after",
               "grace_minutes": "Grace period", "followup_minutes": "Follow-up nudge after",
               "self_shift_minutes": "Patients may move a dose time by",
               "escalate_after_minutes": "Escalate after", "emergency_number": "Emergency number",
               "crisis_line": "Crisis line",
               **{f"{m}_{b}": f"{m} {b}" for m in readings.MEASURES for b in ("low", "high")}}
TEAM_ALIASES = {**{f"{m} {b}": f"{m}_{b}" for m in readings.MEASURES for b in ("low", "high")},
                **{f"reading_thresholds.{m}.{b}": f"{m}_{b}" for m in readings.MEASURES
                   for b in ("low", "high")},
                **{f"reading_thresholds.{m}": f"{m}_low" for m in readings.MEASURES},
                "emergency number": "emergency_number", "crisis line": "crisis_line"}


@router.post("/settings", dependencies=[CSRF])
async def settings_save(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    require_admin(caller)
    values = await forms.typed(request)
    field = partial(forms.text, values)

    def whole(name: str) -> int | float | None:
        """The number typed; whether it is a whole one in range is the service's to say."""
        number = _number(field(name), name)
        return int(number) if number is not None and number == int(number) else number

    try:
        thresholds: dict[str, dict[str, float | None]] = {
            measure: {bound: _number(field(f"{measure}_{bound}"), f"{measure} {bound}")
                      for bound in ("low", "high")} for measure in readings.MEASURES}
        missed = whole("missed_alert_after")
        teams.change_settings(db, teams.get_team(db, caller.team_id), {
            "timezone": field("timezone").strip() or "UTC",
            "reading_thresholds": thresholds,
            "missed_alert_after": 2 if missed is None else missed,  # blank: the default
            "grace_minutes": whole("grace_minutes"),
            "followup_minutes": whole("followup_minutes"),
            "self_shift_minutes": whole("self_shift_minutes") or 0,
            "emergency_number": field("emergency_number"), "crisis_line": field("crisis_line"),
            "escalate_after_minutes": whole("escalate_after_minutes") or 15,  # blank: default
        }, actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return _settings(request, db, caller,
                         forms.refused("team", values, exc, TEAM_FIELDS, TEAM_ALIASES))
    return back(request, "Team settings saved.")


@router.post("/settings/on-call", dependencies=[CSRF])
async def on_call_save(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    """The on-call list from each member's place in it (blank: not on call)."""
    require_admin(caller)
    form = await request.form()
    places: list[tuple[float, int]] = []
    for member in teams.members(db, caller.team_id):
        value = form.get(f"place_{member.id}", "")
        place = _number(value if isinstance(value, str) else "", f"{member.name}'s place")
        if place is not None:
            places.append((place, member.id))
    teams.set_on_call(db, teams.get_team(db, caller.team_id),
                      [member_id for _, member_id in sorted(places)], actor=caller.actor)
    return back(request, "On-call list saved.")


MEMBER_FIELDS = {"name": "Name", "email": "Email", "password": "Password", "role": "Role"}


@router.post("/settings/members", dependencies=[CSRF])
async def member_add(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    require_admin(caller)
    values = await forms.typed(request)
    name, email = forms.text(values, "name"), forms.text(values, "email")
    role = forms.text(values, "role", "clinician")
    try:
        if role not in Role.__members__:
            raise InvalidInput("role: admin or clinician")
        # The password is judged first, and an email taken in any team gets one answer: the
        # form must not tell whether an address is in use in another team.
        password_hash = accounts.hash_password(await forms.password(request), name=name,
                                               email=email)
        teams.add_member(db, team=teams.get_team(db, caller.team_id), name=name, email=email,
                         role=Role(role), password_hash=password_hash, actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return _settings(request, db, caller, forms.refused("member", values, exc,
                                                            MEMBER_FIELDS))
    return back(request, f"{name} can now log in.")


def _member(db: DB, caller: ConsoleCaller, member_id: int, *, other: bool = True
            ) -> TeamMember:
    require_admin(caller)
    member = db.get(TeamMember, member_id)
    if member is None or member.team_id != caller.team_id:
        raise NotFound("no such member")
    if other and member.id == caller.member.id:
        raise InvalidInput("you cannot deactivate yourself")
    return member


@router.get("/settings/members/{member_id}")
def member_page(request: Request, db: DB, caller: ConsoleCaller, member_id: Id) -> Response:
    """A member's name and role, to change."""
    return _member_form(request, caller, _member(db, caller, member_id, other=False))


def _member_form(request: Request, caller: ConsoleCaller, member: TeamMember,
                 fs: forms.FormState = forms.NO_ERRORS) -> HTMLResponse:
    return render(request, "member.html", caller, code=422 if fs.errors else 200, fs=fs,
                  member=member, roles=list(Role))


@router.post("/settings/members/{member_id}", dependencies=[CSRF])
async def member_save(request: Request, db: DB, caller: ConsoleCaller,
                      member_id: Id) -> Response:
    member = _member(db, caller, member_id, other=False)
    values = await forms.typed(request)
    role = forms.text(values, "role", str(member.role))
    try:
        if role not in Role.__members__:
            raise InvalidInput("role: admin or clinician")
        teams.update_member(db, member, name=forms.text(values, "name"), role=Role(role),
                            actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return _member_form(request, caller, _member(db, caller, member_id, other=False),
                            forms.refused("edit", values, exc, {"name": "Name",
                                                                "role": "Role"}))
    return back(request, f"{member.name} saved.", to="/settings")


@router.get("/settings/members/{member_id}/deactivate")
def member_deactivate_page(request: Request, db: DB, caller: ConsoleCaller,
                           member_id: Id) -> Response:
    """The confirmation step: what deactivating the member does."""
    member = _member(db, caller, member_id)
    return render(request, "confirm.html", caller, title=f"Deactivate {member.name}?",
                  what=[f"{member.name} ({member.email}) can no longer log in: their sessions "
                        "and API tokens stop working now.",
                        "Their name stays in the audit log and on what they did; on-call "
                        "escalation skips them."],
                  action=f"/settings/members/{member.id}/deactivate",
                  button=f"Deactivate {member.name}", cancel="/settings")


@router.post("/settings/members/{member_id}/deactivate", dependencies=[CSRF])
def member_deactivate(request: Request, db: DB, caller: ConsoleCaller,
                      member_id: Id) -> Response:
    member = _member(db, caller, member_id)
    member.active = False
    db.add(member)
    sessions.end_sessions(db, member.id)
    audit.record(db, actor=caller.actor, action="member.deactivate", detail=f"member {member.id}")
    return back(request, f"{member.name} can no longer log in.", to="/settings")
