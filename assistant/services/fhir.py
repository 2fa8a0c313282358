"""FHIR import: one MedicationRequest (R4, R4B or R5) becomes a medication and its schedule.

The resource is checked with `fhir.resources` (R5 when it has `medication`, R4/R4B when it
has `medicationCodeableConcept` or `medicationReference`), then mapped:

* name: the concept's `text`, else a coding's `display`; a reference to a contained
  Medication (`#id`) uses that Medication's code, and its first ingredient's strength;
* dose: `doseAndRate[0].doseQuantity` ("1 tablet", "500 mg"), else "1 tablet";
* instructions: `patientInstruction` (else `text`) and `additionalInstruction[*]`;
* schedule: `timing.repeat` timeOfDay, dayOfWeek, frequency/period in days (or weekly
  with dayOfWeek), boundsPeriod and count; `asNeeded` gives an as-needed medication.

Anything CareLoop cannot keep is refused with an `InvalidInput` naming the FHIR element,
never silently dropped. The resource as a whole is checked here; its medication is read by
`domain/fhir_medication.py`, its dosage and timing by `domain/fhir_dosage.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir.resources.medicationrequest import MedicationRequest as Request5
from fhir.resources.R4B.medicationrequest import MedicationRequest as Request4
from pydantic import ValidationError
from sqlmodel import Session

from assistant.domain.fhir_dosage import (
    DOSAGE,
    REPEAT,
    as_needed_for,
    dose_text,
    prn_limit,
    schedule_of,
)
from assistant.domain.fhir_medication import Concept, concept_text, medication_name_and_strength
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import InvalidInput, InvalidSchedule
from assistant.services import medications
from assistant.storage.models import Medication, Patient

__all__ = ["ImportedMedication", "import_medication_request", "parse_medication_request"]

_ACCEPTED_STATUS = ("active", "draft")
# The Timing.repeat element each part of a CareLoop schedule comes from.
_SCHEDULE_ELEMENTS = {
    "times": f"{REPEAT}.timeOfDay", "days": f"{REPEAT}.dayOfWeek",
    "every_n_days": f"{REPEAT}.period", "count": f"{REPEAT}.count",
    "start_date": f"{REPEAT}.boundsPeriod.start", "end_date": f"{REPEAT}.boundsPeriod.end",
}


@dataclass(frozen=True)
class ImportedMedication:
    """What a MedicationRequest says, in the terms `medications.add_medication` takes."""

    name: str
    strength: str
    dose: str
    instructions: str
    schedule: ScheduleSpec


def parse_medication_request(payload: dict[str, Any]) -> ImportedMedication:
    """A FHIR MedicationRequest (as parsed JSON) -> medication and schedule, or InvalidInput."""
    if not isinstance(payload, dict):
        raise InvalidInput("a FHIR MedicationRequest must be a JSON object")
    kind = payload.get("resourceType")
    if kind != "MedicationRequest":
        raise InvalidInput(f"resourceType {kind!r} cannot be imported: "
                           "send one MedicationRequest resource")
    request = _validate(payload)
    if request.status not in _ACCEPTED_STATUS:
        raise InvalidInput(f"status {request.status!r} cannot be imported: "
                           "only an active or draft MedicationRequest can")
    if request.doNotPerform:
        raise InvalidInput("doNotPerform is true: this request forbids the medication, "
                           "it cannot become one to take")
    if request.modifierExtension:
        raise InvalidInput("modifierExtension cannot be imported: its meaning is unknown here")
    name, strength = medication_name_and_strength(request)
    dosages = request.dosageInstruction or []
    if len(dosages) != 1:
        raise InvalidInput(f"{len(dosages)} dosageInstruction entries: "
                           "send exactly one per MedicationRequest")
    dosage = dosages[0]
    if dosage.modifierExtension:
        raise InvalidInput(f"{DOSAGE}.modifierExtension cannot be imported")
    as_needed, reason = as_needed_for(dosage)
    instructions = [dosage.patientInstruction or dosage.text or ""]
    extras: list[Concept] = []
    extras.extend(dosage.additionalInstruction or [])
    instructions += [concept_text(extra, f"{DOSAGE}.additionalInstruction[{i}]")
                     for i, extra in enumerate(extras)]
    if reason:
        instructions.append(f"as needed for {reason}")
    if as_needed:
        instructions.append(prn_limit(dosage.timing))
    return ImportedMedication(
        name=name, strength=strength, dose=dose_text(dosage),
        instructions="; ".join(text.strip() for text in instructions if text.strip()),
        schedule=schedule_of(dosage.timing, as_needed),
    )


def import_medication_request(db: Session, *, patient: Patient, payload: dict[str, Any],
                              actor: str) -> Medication:
    """Add the medication a MedicationRequest prescribes to `patient`, with its schedule.
    The schedule is held to the same rules as any other; a refusal names the element."""
    imported = parse_medication_request(payload)
    try:
        return medications.add_medication(
            db, patient=patient, name=imported.name, strength=imported.strength,
            dose=imported.dose, instructions=imported.instructions,
            schedule=imported.schedule, actor=actor)
    except InvalidSchedule as exc:
        element = _SCHEDULE_ELEMENTS.get(exc.field, REPEAT)
        raise InvalidInput(f"{element}: {exc.reason}") from None


def _validate(payload: dict[str, Any]) -> Request4 | Request5:
    model: type[Request4] | type[Request5]
    if "medication" in payload:
        model = Request5
    elif "medicationCodeableConcept" in payload or "medicationReference" in payload:
        model = Request4
    else:
        raise InvalidInput("no medication: give medicationCodeableConcept or "
                           "medicationReference (R4), or medication (R5)")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(f"not a valid FHIR MedicationRequest: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    """'dosageInstruction[0].timing.repeat.timeOfDay[0]: <reason>' for each error."""
    parts = []
    for error in exc.errors():
        path = ""
        for step in error["loc"]:
            path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else str(step)
        reason = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{path}: {reason}" if path else reason)
    return "; ".join(parts)
