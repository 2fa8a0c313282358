"""FHIR R4 Observation documents as devices and EHRs send them, for the ingest tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from assistant.services import observations
from assistant.storage.db import utcnow
from assistant.storage.models import Patient

LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"


def quantity(value: float, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def observation(code: str, value: float, unit: str, at: str = "2026-03-01T08:00:00+01:00",
                *, identifier: str | None = None, device: str | None = None,
                status: str = "final") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resourceType": "Observation", "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                  "observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/external-77"},
        "effectiveDateTime": at, "valueQuantity": quantity(value, unit)}
    if identifier:
        doc["identifier"] = [{"system": "urn:device:readings", "value": identifier}]
    if device:
        doc["device"] = {"display": device}
    return doc


def blood_pressure(systolic: float, diastolic: float, at: str = "2026-03-01T08:00:00+01:00",
                   **kwargs: Any) -> dict[str, Any]:
    doc = observation("85354-9", 0, "mm[Hg]", at, **kwargs)
    del doc["valueQuantity"]
    doc["component"] = [
        {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
         "valueQuantity": quantity(systolic, "mm[Hg]")},
        {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
         "valueQuantity": quantity(diastolic, "mm[Hg]")}]
    return doc


def bundle(kind: str, *resources: Any) -> dict[str, Any]:
    entries = []
    for n, resource in enumerate(resources):
        entry: dict[str, Any] = {"fullUrl": f"urn:uuid:00000000-0000-0000-0000-{n:012d}",
                                 "resource": resource}
        if kind in ("batch", "transaction"):
            entry["request"] = {"method": "POST", "url": "Observation"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def ago(**kwargs: float) -> datetime:
    """A time that far back, to the second."""
    return (utcnow() - timedelta(**kwargs)).replace(microsecond=0)


def send(db: Session, patient: Patient, *resources: Any) -> None:
    """A device's observations, stored as the API stores them."""
    observations.receive(db, patient=patient, document=bundle("collection", *resources),
                         actor="device")
    db.commit()
