"""Console: a patient's medications and the schedule form."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from assistant.domain.days import DAY_CODES
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, ConsoleCaller, Id
from assistant.interfaces.web.pages.common import OptText, Text, back, router
from assistant.services import medications, occurrences, patients


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
