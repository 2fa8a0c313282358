"""Console: the patient list, a patient's page and profile, enrolment, replies to the
patient, export and erasure."""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from urllib.parse import urlencode

import segno
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from assistant.channels import registry
from assistant.config import get_settings
from assistant.domain import zones
from assistant.domain.days import DAY_CODES
from assistant.domain.targets import PRESETS
from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, ConsoleCaller, Id, require_admin
from assistant.interfaces.web.pages import forms, targets_form
from assistant.interfaces.web.pages.common import (
    OptText,
    Text,
    back,
    comma_list,
    render,
    router,
    templates,
)
from assistant.services import (
    alerts,
    audit,
    charts,
    doses,
    enrolment,
    medication_stops,
    medications,
    patients,
    privacy,
    replies,
    targets,
    teams,
    views,
    ward,
)
from assistant.storage.db import utcnow
from assistant.storage.models import Patient


def age(born: date | None, today: date | None = None) -> int | None:
    """Full years since `born`."""
    if born is None:
        return None
    today = today or utcnow().date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


templates.env.globals["age"] = age
VIEWS = ("all", "today")


@router.get("/patients")
def patient_list(request: Request, db: DB, caller: ConsoleCaller, q: str = "",
                 sort: str = "risk", only: str = "", view: str = "all",
                 page: int = 1) -> Response:
    """The ward, most at risk first with the reasons; a filter, a search by name or record
    number, a page of `ward.PAGE_SIZE`; `view=today`: today's doses of each patient."""
    sort = sort if sort in views.SORTS else "risk"
    only = only if only in views.FILTERS else ""
    view = view if view in VIEWS else "all"
    page = max(1, min(page, 10_000))
    found = ward.ward(db, caller.team_id, search=q[:120], sort=sort, only=only,
                      offset=(page - 1) * ward.PAGE_SIZE)
    audit.record_list_view(db, actor=caller.actor, action="patients.list",
                           patient_ids=[r.patient.id for r in found.rows])
    pages = max(1, -(-found.total // ward.PAGE_SIZE))
    here = {"q": q, "sort": sort, "only": only, "view": view}
    return render(request, "patients.html", caller, rows=found.rows, total=found.total, q=q,
                  sort=sort, sorts=views.SORTS, only=only, filters=views.FILTERS, view=view,
                  page=page, pages=pages, first=found.offset + 1,
                  link=lambda **change: "/patients?" + urlencode(
                      {k: v for k, v in {**here, **change}.items() if v not in ("", "all")}))


PATIENT_FIELDS = {"display_name": "Name", "birth_date": "Date of birth",
                  "record_number": "Record number", "timezone": "Time zone",
                  "language": "Language", "conditions": "Conditions", "goals": "Goals"}
PROFILE_FIELDS = {**PATIENT_FIELDS, "status": "Status", "quiet_start": "Quiet hours from",
                  "quiet_end": "Quiet hours until", "advice_time": "Advice at",
                  "advice_per_day": "Advice per day"}
ALIASES = {"patient name": "display_name", "record number": "record_number"}


def _born(text: str) -> date | None:
    return forms.day(text.strip(), "birth_date", "1950-03-31")


@router.get("/patients/new")
def patient_new(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    """The form to add a patient (the list has it too); a refused one comes back here."""
    return _new_form(request, db, caller)


def _new_form(request: Request, db: DB, caller: ConsoleCaller,
              fs: forms.FormState = forms.NO_ERRORS) -> HTMLResponse:
    team = teams.get_team(db, caller.team_id)
    return render(request, "patient_new.html", caller, code=422 if fs.errors else 200, fs=fs,
                  default_tz=team.timezone, zones=zones.zone_choices(first=team.timezone))


@router.post("/patients", dependencies=[CSRF])
async def patient_add(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    values = await forms.typed(request)
    team = teams.get_team(db, caller.team_id)
    try:
        patient = patients.add_patient(
            db, team=team, name=forms.text(values, "display_name"),
            timezone=forms.text(values, "timezone").strip() or team.timezone,
            language=forms.text(values, "language").strip() or "en",
            conditions=comma_list(forms.text(values, "conditions")),
            goals=comma_list(forms.text(values, "goals")),
            born=_born(forms.text(values, "birth_date")),
            record=forms.text(values, "record_number"), actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return _new_form(request, db, caller,
                         forms.refused("patient", values, exc, PATIENT_FIELDS, ALIASES))
    return back(request, f"{patient.display_name} added.", to=f"/patients/{patient.id}")


@router.get("/patients/{patient_id}")
def patient_page(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                 days: int = 30, preset: str = "") -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    audit.record_read(db, actor=caller.actor, action="patient.view", patient_id=patient.id)
    chosen = preset if preset in PRESETS else None
    return _page(request, db, caller, patient, days=days, preset=chosen,
                 rows=targets_form.rows(targets.in_force(db, patient), preset=chosen))


def _page(request: Request, db: DB, caller: ConsoleCaller, patient: Patient, *,
          days: int = 30, preset: str | None, rows: list[targets_form.Row],
          code: int = 200, targets_error: str = "",
          fs: forms.FormState = forms.NO_ERRORS) -> HTMLResponse:
    team = teams.get_team(db, caller.team_id)
    week_days, week = views.week(db, patient)
    found = alerts.alerts(db, caller.team_id, patient_id=patient.id)
    return render(
        request, "patient.html", caller, code=code, patient=patient, team=team,
        days=week_days, week=week,
        medications=[(med, row, [DAY_CODES[d] for d in (row.days_of_week or [])] if row else [])
                     for med, row in medications.medications(db, patient.id)], day_codes=DAY_CODES,
        adherence_7=doses.adherence(db, patient.id, 7), adherence_30=doses.adherence(
            db, patient.id, 30), adherence=charts.adherence(db, patient),
        symptoms=[a for a in found if a.kind == "symptom"], alerts=found,
        chat=views.chat_status(db, patient.id), timeline=views.timeline(db, patient),
        zones=zones.zone_choices(first=team.timezone), fs=fs,
        stopped=medication_stops.stopped(db, patient.id),
        charts=charts.patient_charts(db, patient, days=days), span=days, spans=charts.SPANS,
        target_rows=rows, presets=PRESETS, preset=preset, targets_error=targets_error)


@router.post("/patients/{patient_id}/targets", dependencies=[CSRF])
async def patient_targets(request: Request, db: DB, caller: ConsoleCaller,
                          patient_id: Id) -> Response:
    """Save the targets form; a refused value is shown at its field, with what was typed."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    in_force = targets.in_force(db, patient)
    preset = None
    try:
        items, preset, rows = targets_form.parse(form, in_force, targets.rows(db, patient)[1])
        try:
            # set_targets checks every item before it changes anything.
            targets.set_targets(db, patient=patient, items=items, actor=caller.actor,
                                member_id=caller.member.id, preset=preset)
        except InvalidInput as exc:
            if not targets_form.place_error(str(exc), items, rows):
                raise
            raise targets_form.FormError(str(exc), rows) from None
    except targets_form.FormError as exc:
        return _page(request, db, caller, patient, preset=preset, rows=exc.rows, code=422,
                     targets_error=f"Not saved: {exc}")
    what = f"{PRESETS[preset].condition.replace('_', ' ')} preset confirmed, " if preset else ""
    return back(request, f"Targets saved ({what}by {caller.member.name}).",
                to=f"/patients/{patient.id}#targets")


@router.post("/patients/{patient_id}/profile", dependencies=[CSRF])
async def patient_profile(request: Request, db: DB, caller: ConsoleCaller,
                          patient_id: Id) -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    values = await forms.typed(request)
    field = partial(forms.text, values)
    try:
        per_day = field("advice_per_day", "1").strip() or "1"
        if not per_day.isdecimal() or len(per_day) > 2:
            raise InvalidInput("advice_per_day: a whole number from 0 to 5")
        patients.update_profile(db, patient, {
            "display_name": field("display_name"), "timezone": field("timezone").strip(),
            "language": field("language"), "birth_date": _born(field("birth_date")),
            "record_number": field("record_number"),
            "conditions": comma_list(field("conditions")), "goals": comma_list(field("goals")),
            "quiet_start": field("quiet_start"), "quiet_end": field("quiet_end"),
            "advice_time": field("advice_time"), "advice_per_day": int(per_day),
            "status": field("status", "active")}, actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return page_refused(request, db, caller, patient_id,
                            forms.refused("profile", values, exc, PROFILE_FIELDS, ALIASES))
    return back(request, "Profile saved.")


def page_refused(request: Request, db: DB, caller: ConsoleCaller, patient_id: int,
                 fs: forms.FormState) -> HTMLResponse:
    """The patient's page again with one of its forms refused, as typed (422)."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    return _page(request, db, caller, patient, preset=None, code=422, fs=fs,
                 rows=targets_form.rows(targets.in_force(db, patient), preset=None))


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
