"""Console: a patient's medications, the label and schedule forms, and stopping a
medicine (a confirmation step that asks why) or restarting it."""

from __future__ import annotations

from functools import partial

from fastapi import Request
from fastapi.responses import Response

from assistant import texts
from assistant.domain.days import DAY_CODES
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, ConsoleCaller, Id
from assistant.interfaces.web.pages import forms
from assistant.interfaces.web.pages.common import back, render, router
from assistant.interfaces.web.pages.patients import page_refused
from assistant.services import medication_stops, medications, occurrences, patients
from assistant.texts.formats import language_name


def _spec(times: str, days: list[str], every_n_days: str, start_date: str, end_date: str,
          as_needed: bool) -> ScheduleSpec:
    """The form's schedule as typed; its limits are checked where every schedule's are."""
    unknown = set(days) - set(DAY_CODES)
    if unknown:
        raise InvalidInput(f"days: {sorted(unknown)[0]!r} is not a day")

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
        start_date=forms.day(start_date, "start_date"),
        end_date=forms.day(end_date, "end_date"),
        as_needed=as_needed)


SCHEDULE_FIELDS = {"times": "Times", "days": "Days", "every_n_days": "Every … days",
                   "start_date": "From", "end_date": "Until", "as_needed": "As needed"}
LABEL_FIELDS = {"name": "Name", "strength": "Strength", "dose": "Dose",
                "instructions": "Instructions", "purpose": "Purpose",
                "missed_dose_instructions": "If a dose is missed"}
ALIASES = {"medication name": "name", "schedule": "times"}


def _translated_fields() -> dict[str, str]:
    """The label form's translation fields: `instructions_es`, `purpose_es`, ..."""
    return {f"{name}_{code}": f"{name.capitalize()} in {language_name(code)}"
            for code in texts.languages()[1:] for name in medications.TRANSLATED}


def _schedule(values: forms.Values) -> ScheduleSpec:
    days = values.get("days", [])
    return _spec(forms.text(values, "times"), days if isinstance(days, list) else [days],
                 forms.text(values, "every_n_days", "1"), forms.text(values, "start_date"),
                 forms.text(values, "end_date"), forms.text(values, "as_needed") == "true")


@router.post("/patients/{patient_id}/medications", dependencies=[CSRF])
async def medication_add(request: Request, db: DB, caller: ConsoleCaller,
                         patient_id: Id) -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    values = await forms.typed(request)
    field = partial(forms.text, values)
    try:
        med = medications.add_medication(
            db, patient=patient, schedule=_schedule(values), actor=caller.actor,
            name=field("name"), strength=field("strength"), dose=field("dose") or "1 tablet",
            instructions=field("instructions"), purpose=field("purpose"),
            missed_dose_instructions=field("missed_dose_instructions"))
    except InvalidInput as exc:
        db.rollback()
        return page_refused(request, db, caller, patient_id, forms.refused(
            "med-add", values, exc, {**LABEL_FIELDS, **SCHEDULE_FIELDS}, ALIASES))
    return back(request, f"{med.label} added.")


@router.post("/patients/{patient_id}/medications/{medication_id}/schedule",
             dependencies=[CSRF])
async def medication_schedule(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                              medication_id: Id) -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    values = await forms.typed(request)
    try:
        occurrences.replace_schedule(db, medication=med, schedule=_schedule(values),
                                     actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return page_refused(request, db, caller, patient_id, forms.refused(
            f"med-{medication_id}-schedule", values, exc, SCHEDULE_FIELDS, ALIASES))
    return back(request, f"New schedule for {med.label} saved.")


@router.post("/patients/{patient_id}/medications/{medication_id}/label", dependencies=[CSRF])
async def medication_label(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                           medication_id: Id) -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    values = await forms.typed(request)
    try:
        medications.update_medication(
            db, med, {name: forms.text(values, name) for name in LABEL_FIELDS},
            actor=caller.actor)
        for code in texts.languages()[1:]:
            medications.translate_label(db, med, code, {
                name: forms.text(values, f"{name}_{code}") for name in medications.TRANSLATED
                if f"{name}_{code}" in values}, actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return page_refused(request, db, caller, patient_id, forms.refused(
            f"med-{medication_id}-label", values, exc, {**LABEL_FIELDS, **_translated_fields()},
            ALIASES))
    return back(request, f"{med.label} saved.")


STOP_FIELDS = {"reason": "Reason", "note": "Details"}


@router.get("/patients/{patient_id}/medications/{medication_id}/stop")
def medication_stop_page(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                         medication_id: Id) -> Response:
    """The confirmation step before a stop: it names the medicine and asks why."""
    return _stop_page(request, db, caller, patient_id, medication_id)


def _stop_page(request: Request, db: DB, caller: ConsoleCaller, patient_id: int,
               medication_id: int, fs: forms.FormState = forms.NO_ERRORS) -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    if not med.active and not fs.errors:
        return back(request, f"{med.label} is already stopped.",
                    to=f"/patients/{patient_id}#stopped")
    return render(request, "medication_stop.html", caller, code=422 if fs.errors else 200,
                  fs=fs, patient=patient, med=med, reasons=medication_stops.REASONS)


@router.post("/patients/{patient_id}/medications/{medication_id}/stop", dependencies=[CSRF])
async def medication_stop(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                          medication_id: Id) -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    values = await forms.typed(request)
    try:
        reason = medication_stops.reason_of(forms.text(values, "reason"),
                                            forms.text(values, "note"))
        medication_stops.stop(db, med, reason=reason, by=caller.member.name,
                              actor=caller.actor)
    except InvalidInput as exc:
        db.rollback()
        return _stop_page(request, db, caller, patient_id, medication_id,
                          forms.refused("stop", values, exc, STOP_FIELDS))
    return back(request, f"{med.label} stopped ({reason}). It is under “Stopped medicines”, "
                "where it can be restarted.", to=f"/patients/{patient_id}#stopped")


@router.get("/patients/{patient_id}/medications/{medication_id}/restart")
def medication_restart_page(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                            medication_id: Id) -> Response:
    """The confirmation step before a stopped medicine is restarted."""
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    if med.active:
        return back(request, f"{med.label} is not stopped.", to=f"/patients/{patient_id}")
    return render(request, "medication_restart.html", caller, med=med,
                  patient=patients.get_patient(db, patient_id, team_id=caller.team_id),
                  schedule=medication_stops.last_schedule(db, med.id))


@router.post("/patients/{patient_id}/medications/{medication_id}/restart", dependencies=[CSRF])
def medication_restart(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id,
                       medication_id: Id) -> Response:
    med = patients.medication_of(db, caller.team_id, patient_id, medication_id)
    medication_stops.restart(db, med, actor=caller.actor)
    return back(request, f"{med.label} restarted: reminders resume with its last schedule.",
                to=f"/patients/{patient_id}#med-{med.id}")
