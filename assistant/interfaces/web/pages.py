"""The care-team console: server-rendered pages, no front-end build step.

Every form carries the session's CSRF token; every page about a patient writes an
audit entry; a member sees only their own team.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import segno
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from assistant.channels import registry
from assistant.config import get_settings
from assistant.domain import schedules, zones
from assistant.domain.days import DAY_CODES
from assistant.domain.fields import clean_text
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import (
    CSRF,
    DB,
    MAX_ID,
    ConsoleCaller,
    Id,
    OptionalId,
    csrf_token,
    require_admin,
)
from assistant.services import (
    accounts,
    advice,
    alerts,
    audit,
    doses,
    enrolment,
    medications,
    occurrences,
    patients,
    privacy,
    readings,
    replies,
    teams,
    views,
)
from assistant.storage.db import utcnow
from assistant.storage.models import (
    AlertStatus,
    ApiToken,
    CareTeam,
    Role,
    TeamMember,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["max_every_n_days"] = schedules.MAX_EVERY_N_DAYS
Text = Annotated[str, Form()]
OptText = Annotated[str, Form()]


def render(request: Request, name: str, caller: accounts.Caller | None = None,
           code: int = 200, **context: Any) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    return templates.TemplateResponse(request, name, {
        "me": caller.member if caller else None, "csrf": csrf_token(request),
        "flash": flash, **context}, status_code=code)


def back(request: Request, message: str | None = None, to: str | None = None) -> Response:
    """After a form: back to the page it came from (same site only), with a message."""
    if message:
        request.session["flash"] = message
    target = to or urlparse(request.headers.get("referer", "")).path or "/patients"
    return RedirectResponse(target if target.startswith("/") else "/patients", status_code=303)


def show_error(request: Request, message: str, status: int = 422) -> Response:
    if request.method == "POST" and status == 422:
        return back(request, f"Not saved: {message}")
    return render(request, "error.html", code=status, message=message)


# Login ------------------------------------------------------------------------------------

@router.get("/login")
def login_page(request: Request, next: str = "/patients") -> Response:
    return render(request, "login.html", next=next if next.startswith("/") else "/patients")


@router.post("/login", dependencies=[CSRF])
def login(request: Request, db: DB, email: Text, password: Text,
          next: OptText = "/patients") -> Response:
    settings = get_settings()
    member = accounts.login(db, settings, email=email, password=password, address=_address(request))
    if member is None:
        return render(request, "login.html", code=401, next=next, email=email,
                      error="Wrong email or password.")
    request.session.clear()  # a new session (and CSRF token) for whoever logs in
    request.session["sid"] = accounts.start_session(db, settings, member)
    return RedirectResponse(next if next.startswith("/") and not next.startswith("//")
                            else "/patients", status_code=303)


def _address(request: Request) -> str:
    """The caller's address: the peer's, or the one a trusted proxy forwarded."""
    return request.client.host if request.client else "unknown"


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request, db: DB) -> Response:
    accounts.end_session(db, request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home() -> Response:
    return RedirectResponse("/patients", status_code=303)


# Patients ---------------------------------------------------------------------------------

@router.get("/patients")
def patient_list(request: Request, db: DB, caller: ConsoleCaller, q: str = "",
                 sort: str = "risk") -> Response:
    rows = views.summaries(db, caller.team_id, search=q[:120],
                          sort=sort if sort in views.SORTS else "risk")
    audit.record_read(db, actor=caller.actor, action="patients.list",
                      detail=f"{len(rows)} rows")
    default_tz = get_settings().timezone
    return render(request, "patients.html", caller, rows=rows, q=q, sort=sort,
                  sorts=views.SORTS, default_tz=default_tz,
                  zones=zones.zone_choices(first=default_tz))


@router.post("/patients", dependencies=[CSRF])
def patient_add(request: Request, db: DB, caller: ConsoleCaller, display_name: Text,
                timezone: Text, language: OptText = "en", conditions: OptText = "",
                goals: OptText = "") -> Response:
    team = db.get(CareTeam, caller.team_id)
    assert team is not None
    patient = patients.add_patient(db, team=team, name=display_name, timezone=timezone.strip(),
                                   language=language or "en", conditions=_list(conditions),
                                   goals=_list(goals), actor=caller.actor)
    return back(request, f"{patient.display_name} added.", to=f"/patients/{patient.id}")


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _chart(days: list[views.DayAdherence]) -> list[dict[str, Any]]:
    """Bars for the adherence chart: height in pixels (of 100) and a tooltip."""
    return [{"day": d.day, "height": d.percent if d.percent is not None else 0,
             "empty": d.percent is None,
             "title": f"{d.day:%a %d %b}: " + (f"{d.taken}/{d.answered} taken"
                                                if d.answered else "no doses due")}
            for d in days]


@router.get("/patients/{patient_id}")
def patient_page(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id) -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    audit.record_read(db, actor=caller.actor, action="patient.view", patient_id=patient.id)
    team = db.get(CareTeam, caller.team_id)
    days, week = views.week(db, patient)
    found = views.readings(db, patient, 50)
    return render(
        request, "patient.html", caller, patient=patient, team=team, days=days, week=week,
        medications=[(med, row, [DAY_CODES[d] for d in (row.days_of_week or [])] if row else [])
                     for med, row in medications.medications(db, patient.id)], day_codes=DAY_CODES,
        adherence_7=doses.adherence(db, patient.id, 7), adherence_30=doses.adherence(
            db, patient.id, 30), chart=_chart(views.daily_adherence(db, patient)),
        readings=[(r, readings.outside(team, r.kind, r.value, r.value2) if team else [])
                  for r in found],
        thresholds=team.reading_thresholds if team else {},
        symptoms=[a for a in alerts.alerts(db, caller.team_id, patient_id=patient.id)
                  if a.kind == "symptom"],
        alerts=alerts.alerts(db, caller.team_id, patient_id=patient.id),
        chat=views.chat_status(db, patient.id), timeline=views.timeline(db, patient),
        zones=zones.zone_choices(first=get_settings().timezone))


@router.post("/patients/{patient_id}/profile", dependencies=[CSRF])
def patient_profile(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                    display_name: Text, timezone: Text, language: Text,
                    conditions: OptText = "", goals: OptText = "", quiet_start: OptText = "",
                    quiet_end: OptText = "", advice_time: OptText = "",
                    advice_per_day: Annotated[int, Form()] = 1,
                    status: OptText = "active") -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    patients.update_profile(db, patient, {
        "display_name": display_name, "timezone": timezone.strip(), "language": language,
        "conditions": _list(conditions), "goals": _list(goals), "quiet_start": quiet_start,
        "quiet_end": quiet_end, "advice_time": advice_time, "advice_per_day": advice_per_day,
        "status": status}, actor=caller.actor)
    return back(request, "Profile saved.")


def _spec(times: str, days: list[str], every_n_days: str, start_date: str, end_date: str,
          as_needed: bool) -> ScheduleSpec:
    """The form's schedule as typed; its limits are checked where every schedule's are."""
    unknown = set(days) - set(DAY_CODES)
    if unknown:
        raise InvalidInput(f"days: {sorted(unknown)[0]!r} is not a day")

    def day(text: str, what: str) -> date | None:
        try:
            return date.fromisoformat(text) if text.strip() else None
        except ValueError:
            raise InvalidInput(f"{what}: write the date as YYYY-MM-DD") from None

    text = every_n_days.strip() or "1"
    try:  # digits only; a number too long for int() is a ValueError too
        every = int(text) if text.isdecimal() else None
    except ValueError:
        every = None
    if every is None:
        raise InvalidInput("every_n_days: a whole number of days, e.g. 1 or 2")
    return ScheduleSpec(
        times=tuple(t for t in times.replace(";", ",").replace(" ", ",").split(",") if t),
        days=",".join(d for d in DAY_CODES if d in days) or None, every_n_days=every,
        start_date=day(start_date, "start_date"), end_date=day(end_date, "end_date"),
        as_needed=as_needed)


ScheduleForm = dict[str, Any]


def schedule_form(times: OptText = "", days: Annotated[list[str] | None, Form()] = None,
                  every_n_days: OptText = "1", start_date: OptText = "", end_date: OptText = "",
                  as_needed: Annotated[bool, Form()] = False) -> ScheduleSpec:
    return _spec(times, days or [], every_n_days, start_date, end_date, as_needed)


Schedule = Annotated[ScheduleSpec, Depends(schedule_form)]


@router.post("/patients/{patient_id}/medications", dependencies=[CSRF])
def medication_add(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                   schedule: Schedule, name: Text, strength: OptText = "",
                   dose: OptText = "1 tablet", instructions: OptText = "",
                   purpose: OptText = "") -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    med = medications.add_medication(db, patient=patient, name=name, strength=strength,
                                  dose=dose or "1 tablet", instructions=instructions,
                                  purpose=purpose, schedule=schedule, actor=caller.actor)
    return back(request, f"{med.label} added.")


@router.post("/patients/{patient_id}/medications/{medication_id}/schedule",
             dependencies=[CSRF])
def medication_schedule(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                        medication_id: Id, schedule: Schedule) -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    occurrences.replace_schedule(db, medication=med, schedule=schedule, actor=caller.actor)
    return back(request, f"New schedule for {med.label} saved.")


@router.post("/patients/{patient_id}/medications/{medication_id}/label", dependencies=[CSRF])
def medication_label(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                     medication_id: Id, name: Text, dose: Text, strength: OptText = "",
                     instructions: OptText = "", purpose: OptText = "",
                     missed_dose_instructions: OptText = "") -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    medications.update_medication(db, med, {"name": name, "strength": strength, "dose": dose,
                                         "instructions": instructions, "purpose": purpose,
                                         "missed_dose_instructions": missed_dose_instructions},
                               actor=caller.actor)
    return back(request, f"{med.label} saved.")


@router.post("/patients/{patient_id}/medications/{medication_id}/stop", dependencies=[CSRF])
def medication_stop(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                    medication_id: Id) -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    occurrences.stop_medication(db, medication=med, actor=caller.actor)
    return back(request, f"{med.label} stopped.")


@router.post("/patients/{patient_id}/enrol", dependencies=[CSRF])
def enrol(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id) -> Response:
    settings = get_settings()
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    issued = enrolment.issue_code(db, patient=patient, actor=caller.actor,
                                  hours=settings.enrolment_code_hours)
    link = registry.enrolment_link(settings, issued.code)
    qr = segno.make(link, error="m").svg_inline(scale=5, title="enrolment link") if link else ""
    return render(request, "enrol.html", caller, patient=patient, enrol_code=issued.code, link=link,
                  expires_at=issued.expires_at, qr=qr)


@router.post("/patients/{patient_id}/reply", dependencies=[CSRF])
def reply(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
          text: Text) -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    replies.reply(db, patient, text, actor=caller.actor)
    return back(request, "Message queued for the patient's chat.")


@router.get("/patients/{patient_id}/export")
def export(db: DB, caller: ConsoleCaller, patient_id: Id) -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    data = privacy.export(db, patient, actor=caller.actor)
    return Response(json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="patient-{patient.id}.json"'})


@router.post("/patients/{patient_id}/erase", dependencies=[CSRF])
def erase(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
          confirm: OptText = "") -> Response:
    require_admin(caller)
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    if confirm.strip() != patient.display_name:
        raise InvalidInput("type the patient's name exactly to confirm the erasure")
    privacy.erase(db, patient, actor=caller.actor)
    return back(request, "The patient and all their data were erased.", to="/patients")


# Alerts -----------------------------------------------------------------------------------

@router.get("/alerts")
def alert_inbox(request: Request, db: DB, caller: ConsoleCaller,
                status: str = "open") -> Response:
    chosen = AlertStatus(status) if status in AlertStatus.__members__ else None
    found = alerts.alerts(db, caller.team_id, status=chosen)
    audit.record_read(db, actor=caller.actor, action="alerts.list",
                      detail=f"{len(found)} rows")
    names = {p.patient.id: p.patient.display_name for p in views.summaries(db, caller.team_id)}
    members = teams.members(db, caller.team_id)
    return render(request, "alerts.html", caller, alerts=found, names=names, status=status,
                  members=members, member_names={m.id: m.name for m in members})


@router.post("/alerts/{alert_id}", dependencies=[CSRF])
def alert_update(request: Request, db: DB, caller: ConsoleCaller, alert_id: Id,
                 action: Text, note: OptText = "",
                 assigned_to: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None) -> Response:
    alert = alerts.get_alert(db, caller.team_id, alert_id)
    choices: dict[str, dict[str, Any]] = {
        "acknowledge": {"status": AlertStatus.acknowledged},
        "assign": {"assigned_to": assigned_to},
        "resolve": {"status": AlertStatus.resolved, "note": note},
    }
    changes = choices.get(action, {})
    if not changes:
        raise InvalidInput(f"action: unknown action {action!r}")
    alerts.update_alert(db, alert, actor=caller.actor, **changes)
    return back(request, f"Alert {action}d." if action != "assign" else "Alert assigned.")


# Advice -----------------------------------------------------------------------------------

@router.get("/advice")
def advice_page(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    return render(request, "advice.html", caller, items=advice.advice_items(db, caller.team_id))


@router.post("/advice", dependencies=[CSRF])
def advice_save(request: Request, db: DB, caller: ConsoleCaller, title: Text, body: Text,
                tags: OptText = "", advice_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
                active: Annotated[bool, Form()] = False) -> Response:
    item = advice.get_advice(db, caller.team_id, advice_id) if advice_id else None
    advice.save_advice(db, caller.team_id, title=title, body=body, tags=_list(tags),
                     actor=caller.actor, item=item, active=active or item is None)
    return back(request, "Advice saved.")


# Team settings, members, API tokens, audit -----------------------------------------------

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
    accounts.end_sessions(db, member.id)
    audit.record(db, actor=caller.actor, action="member.deactivate", detail=f"member {member.id}")
    return back(request, f"{member.name} can no longer log in.")


@router.get("/tokens")
def tokens_page(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    return render(request, "tokens.html", caller, tokens=accounts.tokens(db, caller.member.id))


@router.post("/account/password", dependencies=[CSRF])
def password_change(request: Request, db: DB, caller: ConsoleCaller, current: Text,
                    password: Text, repeat: Text) -> Response:
    """A member's new password; their other sessions end, this one goes on."""
    member = caller.member
    if accounts.verify(db, get_settings(), email=member.email, password=current,
                   address=_address(request)) is None:
        raise InvalidInput("current password: wrong password; nothing was changed")
    if password != repeat:
        raise InvalidInput("the two new passwords differ; type the same one twice")
    accounts.set_password(db, member, password, actor=caller.actor,
                      keep_session=request.session.get("sid"))
    return back(request, "Password changed. You were logged out everywhere else.")


@router.post("/tokens", dependencies=[CSRF])
def token_add(request: Request, db: DB, caller: ConsoleCaller, name: Text) -> Response:
    token = accounts.issue_token(db, caller.member, name=name, actor=caller.actor)
    return render(request, "tokens.html", caller, tokens=accounts.tokens(db, caller.member.id),
                  new_token=token)


@router.post("/tokens/{token_id}/revoke", dependencies=[CSRF])
def token_revoke(request: Request, db: DB, caller: ConsoleCaller, token_id: Id) -> Response:
    token = db.get(ApiToken, token_id)
    if token is None or token.member_id != caller.member.id:
        raise HTTPException(404, "no such token")
    token.revoked_at = token.revoked_at or utcnow()
    db.add(token)
    audit.record(db, actor=caller.actor, action="token.revoke", detail=f"token {token.id}")
    return back(request, "Token revoked.")


@router.get("/audit")
def audit_page(request: Request, db: DB, caller: ConsoleCaller,
               patient_id: OptionalId = None,
               format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    require_admin(caller)
    entries = audit.audit_entries(db, caller.team_id, patient_id=patient_id,
                                 limit=10000 if format == "csv" else 500)
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at (UTC)", "actor", "action", "patient id", "detail"])
        writer.writerows([e.at.isoformat(), e.actor, e.action, e.patient_id or "", e.detail]
                         for e in entries)
        return Response(out.getvalue(), media_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="careloop-audit.csv"'})
    return render(request, "audit.html", caller, entries=entries, patient_id=patient_id)
