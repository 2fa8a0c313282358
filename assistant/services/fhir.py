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
never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.codeableconcept import CodeableConcept as CodeableConcept5
from fhir.resources.dosage import Dosage as Dosage5
from fhir.resources.medication import Medication as Medication5
from fhir.resources.medication import MedicationIngredient as Ingredient5
from fhir.resources.medicationrequest import MedicationRequest as Request5
from fhir.resources.quantity import Quantity as Quantity5
from fhir.resources.R4B.codeableconcept import CodeableConcept as CodeableConcept4
from fhir.resources.R4B.dosage import Dosage as Dosage4
from fhir.resources.R4B.medication import Medication as Medication4
from fhir.resources.R4B.medicationrequest import MedicationRequest as Request4
from fhir.resources.R4B.quantity import Quantity as Quantity4
from fhir.resources.R4B.ratio import Ratio as Ratio4
from fhir.resources.R4B.timing import Timing as Timing4
from fhir.resources.ratio import Ratio as Ratio5
from fhir.resources.timing import Timing as Timing5
from pydantic import ValidationError
from sqlmodel import Session

from assistant.domain.days import DAY_CODES
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import InvalidInput, InvalidSchedule
from assistant.services import medications
from assistant.storage.models import Medication, Patient

__all__ = ["ImportedMedication", "import_medication_request", "parse_medication_request"]

Concept = CodeableConcept4 | CodeableConcept5
Quantity = Quantity4 | Quantity5
Ratio = Ratio4 | Ratio5

_ACCEPTED_STATUS = ("active", "draft")
_DOSAGE = "dosageInstruction[0]"
_REPEAT = f"{_DOSAGE}.timing.repeat"
# Timing.repeat elements a CareLoop schedule has no place for.
_UNSUPPORTED_REPEAT = (
    "boundsDuration", "boundsRange", "countMax", "duration", "durationMax", "durationUnit",
    "frequencyMax", "periodMax", "when", "offset",
)
# The Timing.repeat element each part of a CareLoop schedule comes from.
_SCHEDULE_ELEMENTS = {
    "times": f"{_REPEAT}.timeOfDay", "days": f"{_REPEAT}.dayOfWeek",
    "every_n_days": f"{_REPEAT}.period", "count": f"{_REPEAT}.count",
    "start_date": f"{_REPEAT}.boundsPeriod.start", "end_date": f"{_REPEAT}.boundsPeriod.end",
}
# Per-one units a strength is written per ("5 mg/mL"); any other unit is a unit dose form.
_MEASURED_UNITS = {"ml", "l", "dl", "g", "kg", "mg", "cm2", "m2"}


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
    name, strength = _medication(request)
    dosages = request.dosageInstruction or []
    if len(dosages) != 1:
        raise InvalidInput(f"{len(dosages)} dosageInstruction entries: "
                           "send exactly one per MedicationRequest")
    dosage = dosages[0]
    if dosage.modifierExtension:
        raise InvalidInput(f"{_DOSAGE}.modifierExtension cannot be imported")
    as_needed, reason = _as_needed(dosage)
    instructions = [dosage.patientInstruction or dosage.text or ""]
    extras: list[Concept] = []
    extras.extend(dosage.additionalInstruction or [])
    instructions += [_concept_text(extra, f"{_DOSAGE}.additionalInstruction[{i}]")
                     for i, extra in enumerate(extras)]
    if reason:
        instructions.append(f"as needed for {reason}")
    if as_needed:
        instructions.append(_prn_limit(dosage.timing))
    return ImportedMedication(
        name=name, strength=strength, dose=_dose(dosage),
        instructions="; ".join(text.strip() for text in instructions if text.strip()),
        schedule=_schedule(dosage.timing, as_needed),
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
        element = _SCHEDULE_ELEMENTS.get(exc.field, _REPEAT)
        raise InvalidInput(f"{element}: {exc.reason}") from None


# --- the resource as a whole --------------------------------------------------------------


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


def _medication(request: Request4 | Request5) -> tuple[str, str]:
    """(name, strength) from the concept, or from the contained Medication referenced."""
    concept: Concept | None
    if isinstance(request, Request5):
        where = "medication"
        concept = request.medication.concept
        reference = request.medication.reference.reference if request.medication.reference \
            else None
        concept_where = "medication.concept"
    else:
        where = "medicationReference"
        concept = request.medicationCodeableConcept
        reference = request.medicationReference.reference if request.medicationReference \
            else None
        concept_where = "medicationCodeableConcept"
    if concept is not None:
        return _concept_text(concept, concept_where), ""
    if not reference or not reference.startswith("#"):
        raise InvalidInput(f"{where} to an external Medication cannot be resolved; "
                           "send medicationCodeableConcept (R4) or medication.concept (R5), "
                           "or the Medication contained in the request")
    for resource in request.contained or []:
        if isinstance(resource, Medication4 | Medication5) and resource.id == reference[1:]:
            return _contained(resource, reference)
    raise InvalidInput(f"{where} {reference!r} names no contained Medication")


def _contained(medication: Medication4 | Medication5, reference: str) -> tuple[str, str]:
    where = f"contained Medication {reference!r}"
    if medication.code is None:
        raise InvalidInput(f"{where} has no code: give code.text with the medication's name")
    name = _concept_text(medication.code, f"{where} code")
    if not medication.ingredient:
        return name, ""
    first = medication.ingredient[0]
    strength: Ratio | Quantity | None
    if isinstance(first, Ingredient5):  # R5: strength[x]
        if first.strengthCodeableConcept is not None:
            return name, _concept_text(first.strengthCodeableConcept,
                                       f"{where} ingredient[0].strengthCodeableConcept")
        strength = first.strengthRatio or first.strengthQuantity
    else:
        strength = first.strength
    if strength is None:
        return name, ""
    label = f"{where} ingredient[0].strength"
    if isinstance(strength, Ratio4 | Ratio5):
        return name, _ratio(strength, label)
    return name, _quantity(strength, label)


def _ratio(ratio: Ratio, where: str) -> str:
    """500 mg / 1 tablet -> '500 mg'; 5 mg / 1 mL -> '5 mg/mL'; 250 mg / 5 mL -> '250 mg/5 mL'."""
    if ratio.numerator is None:
        raise InvalidInput(f"{where} has no numerator")
    amount = _quantity(ratio.numerator, f"{where}.numerator")
    per = ratio.denominator
    if per is None:
        return amount
    unit = per.unit or per.code or ""
    if per.value == 1:
        return f"{amount}/{unit}" if unit.lower() in _MEASURED_UNITS else amount
    return f"{amount}/{_quantity(per, f'{where}.denominator')}"


def _quantity(quantity: Quantity, where: str) -> str:
    """value and unit: '500 mg', '1 tablet' (no trailing .0)."""
    if quantity.comparator:
        raise InvalidInput(f"{where}.comparator {quantity.comparator!r} cannot be imported: "
                           "give an exact value")
    if quantity.value is None:
        raise InvalidInput(f"{where} has no value")
    unit = quantity.unit or quantity.code
    if not unit:
        raise InvalidInput(f"{where} has no unit: give unit, e.g. tablet or mg")
    return f"{_number(quantity.value)} {unit}"


def _number(value: Decimal | int | float) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def _concept_text(concept: Concept, where: str) -> str:
    """The concept's text, else the display of its first coding that has one."""
    if concept.text and concept.text.strip():
        return concept.text.strip()
    for coding in concept.coding or []:
        if coding.display and coding.display.strip():
            return coding.display.strip()
    raise InvalidInput(f"{where} has neither text nor a coding display: add text")


# --- the dosage ---------------------------------------------------------------------------


def _as_needed(dosage: Dosage4 | Dosage5) -> tuple[bool, str]:
    """(as needed?, what for) from asNeededBoolean/asNeededCodeableConcept or asNeeded/For."""
    if isinstance(dosage, Dosage5):
        reasons = [_concept_text(concept, f"{_DOSAGE}.asNeededFor[{i}]")
                   for i, concept in enumerate(dosage.asNeededFor or [])]
        return bool(dosage.asNeeded) or bool(reasons), ", ".join(reasons)
    if dosage.asNeededCodeableConcept is not None:
        return True, _concept_text(dosage.asNeededCodeableConcept,
                                   f"{_DOSAGE}.asNeededCodeableConcept")
    return bool(dosage.asNeededBoolean), ""


def _dose(dosage: Dosage4 | Dosage5) -> str:
    entries = dosage.doseAndRate or []
    if len(entries) > 1:
        raise InvalidInput(f"{_DOSAGE}.doseAndRate has {len(entries)} entries: send one")
    if not entries:
        return "1 tablet"
    entry, where = entries[0], f"{_DOSAGE}.doseAndRate[0]"
    for rate in ("rateQuantity", "rateRange", "rateRatio"):
        if getattr(entry, rate) is not None:
            raise InvalidInput(f"{where}.{rate} cannot be imported: CareLoop reminds of "
                               "doses, not infusion rates")
    if entry.doseRange is not None:
        raise InvalidInput(f"{where}.doseRange cannot be imported: give one doseQuantity")
    if entry.doseQuantity is None:
        return "1 tablet"
    return _quantity(entry.doseQuantity, f"{where}.doseQuantity")


_UNITS = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days", "wk": "weeks",
          "mo": "months", "a": "years"}


def _prn_limit(timing: Timing4 | Timing5 | None) -> str:
    """An as-needed medicine is never reminded: its frequency is a limit, kept in words."""
    repeat = timing.repeat if timing else None
    if repeat is None or repeat.timeOfDay or repeat.period is None or not repeat.periodUnit:
        return ""
    most = repeat.frequencyMax or repeat.frequency or 1
    return (f"at most {most} time{'s' if most > 1 else ''} every {_number(repeat.period)} "
            f"{_UNITS.get(repeat.periodUnit, repeat.periodUnit)}")


def _schedule(timing: Timing4 | Timing5 | None, as_needed: bool) -> ScheduleSpec:
    if as_needed and (timing is None or timing.repeat is None or not timing.repeat.timeOfDay):
        return ScheduleSpec(as_needed=True)
    if timing is None:
        if as_needed:
            return ScheduleSpec(as_needed=True)
        raise InvalidInput(f"{_DOSAGE}.timing is missing: give timing.repeat.timeOfDay "
                           "(e.g. 08:00:00), or asNeeded")
    if timing.modifierExtension:
        raise InvalidInput(f"{_DOSAGE}.timing.modifierExtension cannot be imported")
    if timing.event:
        raise InvalidInput(f"{_DOSAGE}.timing.event (one-off dates) cannot be imported: "
                           "give timing.repeat")
    repeat = timing.repeat
    if repeat is None:
        if timing.code is not None:
            raise InvalidInput(f"{_DOSAGE}.timing.code without timing.repeat cannot be "
                               "imported: give timing.repeat.timeOfDay")
        if as_needed:
            return ScheduleSpec(as_needed=True)
        raise InvalidInput(f"{_REPEAT} is missing: give timing.repeat.timeOfDay "
                           "(e.g. 08:00:00), or asNeeded")
    for element in _UNSUPPORTED_REPEAT:
        if getattr(repeat, element):
            raise InvalidInput(f"{_REPEAT}.{element} cannot be imported: CareLoop schedules "
                               "use timeOfDay, dayOfWeek, frequency/period in days, "
                               "boundsPeriod and count")
    times = []
    for i, at in enumerate(repeat.timeOfDay or []):
        if at is None:
            continue
        if at.second or at.microsecond:
            raise InvalidInput(f"{_REPEAT}.timeOfDay[{i}] {at.isoformat()} has seconds: "
                               "give whole minutes, e.g. 08:00:00")
        times.append(at.strftime("%H:%M"))
    days = []
    for i, day in enumerate(repeat.dayOfWeek or []):
        if day not in DAY_CODES:
            raise InvalidInput(f"{_REPEAT}.dayOfWeek[{i}] {day!r} is not a day: "
                               "use mon, tue, wed, thu, fri, sat or sun")
        days.append(day)
    every_n_days = _every_n_days(repeat.frequency, repeat.period, repeat.periodUnit,
                                 len(times), len(days))
    if not times and not as_needed:
        raise InvalidInput(f"{_REPEAT}.timeOfDay is missing: CareLoop reminds at clock "
                           "times; give timeOfDay (e.g. 08:00:00), or asNeeded")
    bounds = repeat.boundsPeriod
    return ScheduleSpec(
        times=tuple(times), days=",".join(days) or None, every_n_days=every_n_days,
        start_date=_date(bounds.start, f"{_REPEAT}.boundsPeriod.start") if bounds else None,
        end_date=_date(bounds.end, f"{_REPEAT}.boundsPeriod.end") if bounds else None,
        count=repeat.count, as_needed=as_needed,
    )


def _every_n_days(frequency: int | None, period: Decimal | None, unit: str | None,
                  n_times: int, n_days: int) -> int:
    """The interval in days that frequency/period/periodUnit say, checked against the rest."""
    if frequency is None and period is None and unit is None:
        return 1
    if period is None or unit is None:
        raise InvalidInput(f"{_REPEAT}: frequency, period and periodUnit go together; "
                           "give period and periodUnit (e.g. 1 and d)")
    shown = _number(period)
    if unit == "d":
        if period != int(period) or period < 1:
            raise InvalidInput(f"{_REPEAT}.period {shown} d cannot be imported: give a whole "
                               "number of days")
        every = int(period)
        span = "day" if every == 1 else f"{every} days"
        times = frequency or 1
        if times > 1 and n_times == 0:
            raise InvalidInput(f"{_REPEAT}: frequency {times} per {span} needs the clock "
                               "times: give timeOfDay")
        if n_times and times != n_times:
            raise InvalidInput(f"{_REPEAT}: frequency {times} per {span} but "
                               f"{n_times} timeOfDay")
        return every
    if unit == "wk":
        if period != 1:
            raise InvalidInput(f"{_REPEAT}.period {shown} wk cannot be imported: weekly "
                               "schedules repeat every week (period 1) on dayOfWeek")
        if n_days == 0:
            raise InvalidInput(f"{_REPEAT}.periodUnit 'wk' needs dayOfWeek: give the days "
                               "of the week (e.g. mon, thu)")
        per_week = n_days * max(n_times, 1)
        if frequency is not None and frequency != per_week:
            raise InvalidInput(f"{_REPEAT}: frequency {frequency} per week but dayOfWeek "
                               f"and timeOfDay give {per_week}")
        return 1
    raise InvalidInput(f"{_REPEAT}.periodUnit {unit!r} cannot be imported: CareLoop "
                       "schedules repeat in whole days (d) or weekly on dayOfWeek (wk)")


def _date(value: date | datetime | str | None, where: str) -> date | None:
    """The date part of a FHIR date or dateTime; partial dates ('2027-01') are refused."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise InvalidInput(f"{where} {value!r} is not a full date: give YYYY-MM-DD")
