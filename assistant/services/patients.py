"""Patients and their profile, as the care team writes them; finding a patient (or one
of their medications) of a team.

Small keyword-only functions shared by the CLI, the console/API and the demo. Each
validates everything before it writes anything, and records an audit entry.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from assistant import texts
from assistant.domain import schedules, zones
from assistant.domain.fields import clean_text
from assistant.errors import InvalidInput, InvalidSchedule, NotFound
from assistant.services import audit, occurrences
from assistant.storage.models import CareTeam, Medication, Patient, PatientStatus

EARLIEST_BIRTH = date(1900, 1, 1)


def birth_date(value: date | None) -> date | None:
    """A date of birth, checked: not in the future, not before 1900."""
    if value is not None and not EARLIEST_BIRTH <= value <= date.today():
        raise InvalidInput("birth_date: a date between 1900-01-01 and today")
    return value


def _language(value: str) -> str:
    """A patient's language, checked: one CareLoop speaks ('es', 'ES', 'es-MX' → 'es')."""
    wanted = clean_text(value, "language", 8).replace("_", "-").lower()
    for code in (wanted, wanted.split("-")[0]):
        if code in texts.languages():
            return code
    raise InvalidInput(f"language: one of {', '.join(texts.languages())}")


def record_number(db: Session, team_id: int, value: str | None,
                  patient_id: int | None = None) -> str | None:
    """The clinic's record number, checked: at most 32 characters, one patient's in a team."""
    if value is None or not value.strip():
        return None
    number = clean_text(value, "record_number", 32)
    other = db.exec(select(Patient.id).where(Patient.team_id == team_id,
                                             Patient.record_number == number)).first()
    if other is not None and other != patient_id:
        raise InvalidInput("record_number: another patient of this team has it")
    return number


def add_patient(db: Session, *, team: CareTeam, name: str, timezone: str, actor: str,
                language: str = "en", conditions: list[str] | None = None,
                goals: list[str] | None = None, born: date | None = None,
                record: str | None = None) -> Patient:
    zones.place_zone(timezone)
    patient = Patient(team_id=team.id, display_name=clean_text(name, "patient name", 120),
                      timezone=timezone, language=_language(language),
                      conditions=conditions or [], goals=goals or [],
                      birth_date=birth_date(born),
                      record_number=record_number(db, team.id, record))
    db.add(patient)
    db.flush()
    audit.record(db, actor=actor, action="patient.add", patient_id=patient.id)
    return patient


def get_patient(db: Session, patient_id: int, team_id: int | None = None) -> Patient:
    """A patient by id; with `team_id`, only if that team cares for them."""
    patient = db.get(Patient, patient_id)
    if patient is None or (team_id is not None and patient.team_id != team_id):
        raise NotFound(f"no patient {patient_id}")
    return patient


def medication_of(db: Session, team_id: int, patient_id: int,
                  medication_id: int) -> Medication:
    """A medication of a patient of the team; anything else is `NotFound`."""
    patient = get_patient(db, patient_id, team_id=team_id)
    med = db.get(Medication, medication_id)
    if med is None or med.patient_id != patient.id:
        raise NotFound(f"no medication {medication_id} for this patient")
    return med


def _clock(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return schedules.parse_times([value])[0].strftime("%H:%M")
    except InvalidSchedule as exc:  # a clock time, not a schedule's: the field is `what`
        raise InvalidInput(f"{what}: {exc.reason}") from None


def _labels(values: list[str], what: str) -> list[str]:
    cleaned = [clean_text(v, what, 60) for v in values if v.strip()]
    if len(cleaned) > 20:
        raise InvalidInput(f"{what}: at most 20")
    return cleaned


PROFILE_FIELDS = ("display_name", "timezone", "language", "conditions", "goals", "quiet_start",
                  "quiet_end", "advice_time", "advice_per_day", "status", "birth_date",
                  "record_number")
ADVICE_FIELDS = {"advice_time", "advice_per_day", "timezone", "status", "quiet_start",
                 "quiet_end"}
REMOVABLE = {"quiet_start", "quiet_end", "advice_time", "birth_date", "record_number"}


def update_profile(db: Session, patient: Patient, changes: dict[str, Any], *,
                   actor: str) -> Patient:
    """Change a patient's profile; everything is checked before anything is written.
    A new time zone moves future reminders to the new local times."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: not a profile field")
    new = dict(changes)
    for key in set(PROFILE_FIELDS) - REMOVABLE:
        if key in new and new[key] is None:
            raise InvalidInput(f"{key}: cannot be removed, only changed")
    if "display_name" in new:
        new["display_name"] = clean_text(new["display_name"], "display_name", 120)
    if "timezone" in new and new["timezone"] != patient.timezone:
        zones.place_zone(new["timezone"])  # an old alias already stored may stay as it is
    if "birth_date" in new:
        new["birth_date"] = birth_date(new["birth_date"])
    if "record_number" in new:
        new["record_number"] = record_number(db, patient.team_id, new["record_number"],
                                             patient.id)
    if "language" in new and new["language"] != patient.language:
        new["language"] = _language(new["language"])  # an older code stored may stay
    for key in ("conditions", "goals"):
        if key in new:
            new[key] = _labels(new[key], key)
    for key in ("quiet_start", "quiet_end", "advice_time"):
        if key in new:
            new[key] = _clock(new[key], key)
    if "advice_per_day" in new and not 0 <= int(new["advice_per_day"]) <= 5:
        raise InvalidInput("advice_per_day: 0 to 5")
    if "status" in new:
        try:
            new["status"] = PatientStatus(new["status"])
        except ValueError:
            raise InvalidInput("status: active, paused or stopped") from None
    moved = "timezone" in new and new["timezone"] != patient.timezone
    for key, value in new.items():
        setattr(patient, key, value)
    if ADVICE_FIELDS & set(new):
        patient.advice_due_at = None   # the advice planner works its next moment out again
    db.add(patient)
    if moved:
        occurrences.replan_patient(db, patient.id)
    audit.record(db, actor=actor, action="patient.update", patient_id=patient.id,
                 detail=", ".join(sorted(new)))
    return patient
