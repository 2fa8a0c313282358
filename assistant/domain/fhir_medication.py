"""FHIR's Medication as CareLoop keeps it: a MedicationRequest's medication name and strength
(from its concept, or from the Medication it contains), and FHIR's value types (concepts,
quantities, ratios, decimals) in words."""

from __future__ import annotations

from decimal import Decimal

from fhir.resources.codeableconcept import CodeableConcept as CodeableConcept5
from fhir.resources.medication import Medication as Medication5
from fhir.resources.medication import MedicationIngredient as Ingredient5
from fhir.resources.medicationrequest import MedicationRequest as Request5
from fhir.resources.quantity import Quantity as Quantity5
from fhir.resources.R4B.codeableconcept import CodeableConcept as CodeableConcept4
from fhir.resources.R4B.medication import Medication as Medication4
from fhir.resources.R4B.medicationrequest import MedicationRequest as Request4
from fhir.resources.R4B.quantity import Quantity as Quantity4
from fhir.resources.R4B.ratio import Ratio as Ratio4
from fhir.resources.ratio import Ratio as Ratio5

from assistant.errors import InvalidInput

Concept = CodeableConcept4 | CodeableConcept5
Quantity = Quantity4 | Quantity5
Ratio = Ratio4 | Ratio5
# Per-one units a strength is written per ("5 mg/mL"); any other unit is a unit dose form.
_MEASURED_UNITS = {"ml", "l", "dl", "g", "kg", "mg", "cm2", "m2"}


def medication_name_and_strength(request: Request4 | Request5) -> tuple[str, str]:
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
        return concept_text(concept, concept_where), ""
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
    name = concept_text(medication.code, f"{where} code")
    if not medication.ingredient:
        return name, ""
    first = medication.ingredient[0]
    strength: Ratio | Quantity | None
    if isinstance(first, Ingredient5):  # R5: strength[x]
        if first.strengthCodeableConcept is not None:
            return name, concept_text(first.strengthCodeableConcept,
                                       f"{where} ingredient[0].strengthCodeableConcept")
        strength = first.strengthRatio or first.strengthQuantity
    else:
        strength = first.strength
    if strength is None:
        return name, ""
    label = f"{where} ingredient[0].strength"
    if isinstance(strength, Ratio4 | Ratio5):
        return name, ratio_text(strength, label)
    return name, quantity_text(strength, label)


def ratio_text(ratio: Ratio, where: str) -> str:
    """500 mg / 1 tablet -> '500 mg'; 5 mg / 1 mL -> '5 mg/mL'; 250 mg / 5 mL -> '250 mg/5 mL'."""
    if ratio.numerator is None:
        raise InvalidInput(f"{where} has no numerator")
    amount = quantity_text(ratio.numerator, f"{where}.numerator")
    per = ratio.denominator
    if per is None:
        return amount
    unit = per.unit or per.code or ""
    if per.value == 1:
        return f"{amount}/{unit}" if unit.lower() in _MEASURED_UNITS else amount
    return f"{amount}/{quantity_text(per, f'{where}.denominator')}"


def quantity_text(quantity: Quantity, where: str) -> str:
    """value and unit: '500 mg', '1 tablet' (no trailing .0)."""
    if quantity.comparator:
        raise InvalidInput(f"{where}.comparator {quantity.comparator!r} cannot be imported: "
                           "give an exact value")
    if quantity.value is None:
        raise InvalidInput(f"{where} has no value")
    unit = quantity.unit or quantity.code
    if not unit:
        raise InvalidInput(f"{where} has no unit: give unit, e.g. tablet or mg")
    return f"{number_text(quantity.value)} {unit}"


def number_text(value: Decimal | int | float) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def concept_text(concept: Concept, where: str) -> str:
    """The concept's text, else the display of its first coding that has one."""
    if concept.text and concept.text.strip():
        return concept.text.strip()
    for coding in concept.coding or []:
        if coding.display and coding.display.strip():
            return coding.display.strip()
    raise InvalidInput(f"{where} has neither text nor a coding display: add text")
