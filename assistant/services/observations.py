"""FHIR R4 Observations in: one `Observation`, or a `Bundle` (collection, batch or
transaction) of them, each checked with `fhir.resources` and turned into a reading.

`fhir.resources` 8 ships R5 as its default and R4B beside it; the Observation resource is
normative since R4 and unchanged in R4B, so R4 documents are read with the R4B models.
Each entry is checked on its own: a bad one is refused with its index and the reason,
never taking the good ones with it.

What is read from an Observation: `status` (final, amended, corrected or preliminary),
the LOINC coding of `code`, `valueQuantity` (UCUM `code`, else `unit`) or, for the blood
pressure panel 85354-9, the `component`s 8480-6 and 8462-4; `effectiveDateTime`,
`effectiveInstant` or `effectivePeriod.start`; the first `identifier` ("system|value");
`device` (its reference, display or identifier). `subject` is not read: the patient is the
one in the URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.quantity import Quantity
from pydantic import ValidationError
from sqlmodel import Session

from assistant.domain import measures
from assistant.errors import InvalidInput
from assistant.services.ingest import Candidate, Outcome, Refused, candidate, store
from assistant.storage.db import utcnow
from assistant.storage.models import Patient

__all__ = ["BUNDLE_TYPES", "parse", "receive"]

LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
BUNDLE_TYPES = ("collection", "batch", "transaction")
STATUSES = ("final", "amended", "corrected", "preliminary")
MOST_ENTRIES = 10_000


def _invalid(exc: ValidationError) -> Refused:
    error = exc.errors()[0]
    where = ".".join(str(step) for step in error["loc"]) or "resource"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return Refused(f"{where}: {error['msg']}{more}")


def _loinc(resource: Observation) -> str:
    codings = [c for c in (resource.code.coding or []) if c.system == LOINC and c.code]
    if not codings:
        raise Refused(f"code: no LOINC coding (system {LOINC})")
    known = [c.code for c in codings if c.code in measures.CODES]
    return str(known[0] if known else codings[0].code)


def _quantity(quantity: Quantity | None, where: str) -> tuple[float, str]:
    if quantity is None or quantity.value is None:
        raise Refused(f"{where}: no value (a valueQuantity with value and UCUM code)")
    if quantity.system is not None and quantity.system != UCUM:
        raise Refused(f"{where}.system: units must be UCUM ({UCUM})")
    unit = quantity.code or quantity.unit
    if not unit:
        raise Refused(f"{where}.code: the UCUM unit is missing")
    return float(quantity.value), str(unit)


def _component(resource: Observation, code: str) -> tuple[float, str]:
    for n, part in enumerate(resource.component or []):
        if any(c.system == LOINC and c.code == code for c in (part.code.coding or [])):
            return _quantity(part.valueQuantity, f"component[{n}].valueQuantity")
    raise Refused(f"component: blood pressure needs the component {code} "
                  f"({'systolic' if code == measures.SYSTOLIC else 'diastolic'})")


def _effective(resource: Observation) -> datetime | None:
    moment = resource.effectiveDateTime or resource.effectiveInstant or (
        resource.effectivePeriod.start if resource.effectivePeriod else None)
    if moment is not None and not isinstance(moment, datetime):
        raise Refused("effectiveDateTime: a day alone is not enough: give the time with "
                      "its UTC offset")
    return moment


def _identifier(resource: Observation) -> str | None:
    for found in resource.identifier or []:
        if found.value:
            return f"{found.system or ''}|{found.value}"
    return None


def _device(resource: Observation) -> str | None:
    ref = resource.device
    if ref is None:
        return None
    return ref.reference or ref.display or (ref.identifier.value if ref.identifier else None)


def _reading(resource: Observation, now: datetime) -> Candidate:
    if resource.status not in STATUSES:
        raise Refused(f"status: {resource.status} is not a result to keep; one of "
                      f"{', '.join(STATUSES)}")
    code = _loinc(resource)
    measure = measures.measure_of(code)
    value2 = unit2 = None
    if measure.name == "blood_pressure":
        value, unit = _component(resource, measures.SYSTOLIC)
        value2, unit2 = _component(resource, measures.DIASTOLIC)
    else:
        value, unit = _quantity(resource.valueQuantity, "valueQuantity")
    return candidate(code=code, value=value, unit=unit, value2=value2, unit2=unit2,
                     taken_at=_effective(resource), now=now, device=_device(resource),
                     identifier=_identifier(resource))


def _entry(document: Any, now: datetime) -> Candidate | Refused:
    if not isinstance(document, dict) or document.get("resourceType") != "Observation":
        kind = document.get("resourceType") if isinstance(document, dict) else None
        return Refused(f"resourceType: {kind or 'nothing'} is not an Observation")
    try:
        return _reading(Observation.model_validate(document), now)
    except ValidationError as exc:
        return _invalid(exc)
    except Refused as exc:
        return exc


def parse(document: Any, *, now: datetime | None = None
          ) -> Iterator[tuple[int, Candidate | Refused]]:
    """Each observation of the document with its index (0 for a lone Observation); the
    document itself refused (`InvalidInput`) when it is neither."""
    now = now or utcnow()
    kind = document.get("resourceType") if isinstance(document, dict) else None
    if kind == "Observation":
        yield 0, _entry(document, now)
        return
    if kind != "Bundle":
        raise InvalidInput(f"resourceType: send an Observation or a Bundle, not {kind}")
    if document.get("type") not in BUNDLE_TYPES:
        raise InvalidInput(f"type: a Bundle of observations is one of {', '.join(BUNDLE_TYPES)}")
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise InvalidInput("entry: a list of entries")
    if len(entries) > MOST_ENTRIES:
        raise InvalidInput(f"entry: at most {MOST_ENTRIES} entries a Bundle: send several")
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        yield index, _entry(resource, now)


def receive(db: Session, *, patient: Patient, document: Any, actor: str,
            source: str = "fhir") -> Outcome:
    """Store a FHIR document's observations for `patient` in the caller's unit of work."""
    return store(db, patient=patient, entries=parse(document), source=source, actor=actor)
