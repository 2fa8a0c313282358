"""A patient's medications as the care team writes them (adding one with its schedule,
changing its label and its translations), and which schedules are in force and when
they fall due.

The name, strength and dose stay as prescribed in every language; the team's label texts
(instructions, purpose) may have a translation per language (`translate_label`), said
to a patient in their language by `label_text`, else the English.

Changes that reach dose occurrences already planned (a new schedule, a stop, a moved
dose time) are in `occurrences`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from assistant import texts
from assistant.domain.dues import expand
from assistant.domain.fields import clean_text
from assistant.domain.schedule_specs import ScheduleSpec, schedule_row, timing_of
from assistant.errors import InvalidInput
from assistant.services import audit
from assistant.storage.db import utcnow
from assistant.storage.models import DoseSchedule, Medication, Patient


def add_medication(db: Session, *, patient: Patient, name: str, strength: str = "",
                   dose: str = "1 tablet", instructions: str = "", purpose: str = "",
                   missed_dose_instructions: str = "", schedule: ScheduleSpec,
                   supply_count: int | None = None, refill_days: int | None = None,
                   actor: str, now: datetime | None = None) -> Medication:
    """A medication and its schedule, written at `now` (the clock by default)."""
    now = now or utcnow()
    timing = schedule.timing(patient.timezone, now)  # refuse a bad schedule before writing
    if supply_count is not None and supply_count < 0:
        raise InvalidInput("supply count must be 0 or more")
    medication = Medication(
        patient_id=patient.id, name=clean_text(name, "medication name", 120),
        strength=clean_text(strength, "strength", 60, required=False),
        dose=clean_text(dose, "dose", 60),
        instructions=clean_text(instructions, "instructions", 500, False),
        purpose=clean_text(purpose, "purpose", 500, False),
        missed_dose_instructions=clean_text(missed_dose_instructions,
                                            "missed_dose_instructions", 500, False),
        supply_count=supply_count, refill_days=refill_days,
    )
    db.add(medication)
    db.flush()
    db.add(schedule_row(medication.id, timing, written_at=now))
    db.flush()
    audit.record(db, actor=actor, action="medication.add", patient_id=patient.id,
                 detail=f"medication {medication.id}")
    return medication


MEDICATION_FIELDS = {"name": (120, True), "strength": (60, False), "dose": (60, True),
                     "instructions": (500, False), "purpose": (500, False),
                     "missed_dose_instructions": (500, False)}


def update_medication(db: Session, medication: Medication, changes: dict[str, Any], *,
                      actor: str) -> Medication:
    """Change what the label says (name, strength, dose, instructions, purpose, what to do
    if a dose is missed, supply)."""
    new = dict(changes)
    for key, value in changes.items():
        if key in MEDICATION_FIELDS:
            limit, required = MEDICATION_FIELDS[key]
            new[key] = clean_text(value or "", key, limit, required)
        elif key in ("supply_count", "refill_days"):
            if value is not None and value < 0:
                raise InvalidInput(f"{key}: 0 or more")
        else:
            raise InvalidInput(f"{key}: not a medication field")
    for key, value in new.items():
        setattr(medication, key, value)
    db.add(medication)
    audit.record(db, actor=actor, action="medication.update", patient_id=medication.patient_id,
                 detail=f"medication {medication.id}: {', '.join(sorted(new))}")
    return medication


TRANSLATED = ("instructions", "purpose")


def translate_label(db: Session, medication: Medication, language: str,
                    changes: dict[str, str], *, actor: str) -> Medication:
    """Set the label texts (`TRANSLATED`) in `language`; a text left empty is said in
    English."""
    if language not in texts.languages() or language == texts.DEFAULT_LANGUAGE:
        raise InvalidInput(f"language: {language!r} is not a language to translate into")
    unknown = set(changes) - set(TRANSLATED)
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: has no translation")
    own = {key: clean_text(value or "", f"{key}_{language}", 500, False)
           for key, value in changes.items()}
    translations = dict(medication.translations)
    kept = {key: value for key, value in {**translations.get(language, {}), **own}.items()
            if value}
    if kept:
        translations[language] = kept
    else:
        translations.pop(language, None)
    if translations != medication.translations:
        medication.translations = translations   # a new dict: SQLAlchemy sees the change
        db.add(medication)
        audit.record(db, actor=actor, action="medication.translate",
                     patient_id=medication.patient_id,
                     detail=f"medication {medication.id}: {language}")
    return medication


def label_text(medication: Medication, name: str, language: str | None) -> str:
    """The label's `name` text ("instructions", "purpose") in `language` when the team
    translated it, else as written in English."""
    own = medication.translations.get(texts.resolve(language), {})
    return own.get(name) or str(getattr(medication, name))


def active_schedules(db: Session, medication_id: int) -> list[DoseSchedule]:
    """A medication's schedules in force, oldest first: one, or two while a dose time moves
    (the old one ends today, the new one starts tomorrow)."""
    return list(db.exec(select(DoseSchedule).where(
        DoseSchedule.medication_id == medication_id, DoseSchedule.active)
        .order_by(col(DoseSchedule.start_date), col(DoseSchedule.id))).all())


def medications(db: Session, patient_id: int) -> list[tuple[Medication, DoseSchedule | None]]:
    """The patient's active medications with the schedule they follow from now on, by name."""
    meds = db.exec(select(Medication).where(Medication.patient_id == patient_id,
                                            Medication.active).order_by(Medication.name)).all()
    result: list[tuple[Medication, DoseSchedule | None]] = []
    for med in meds:
        rows = active_schedules(db, med.id)
        result.append((med, rows[-1] if rows else None))
    return result


def dues(db: Session, medication_id: int, tz: ZoneInfo, start: datetime,
         end: datetime) -> list[tuple[datetime, DoseSchedule]]:
    """A medication's dose times in [start, end), from every schedule in force."""
    return sorted(((due, row) for row in active_schedules(db, medication_id)
                   for due in expand(timing_of(row), tz, start, end)),
                  key=lambda pair: pair[0])
