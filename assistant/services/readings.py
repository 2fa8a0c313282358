"""Readings from chat, console and API: checked, stored, and evaluated by monitoring
(`services.monitoring`: the patient's targets, the team's thresholds among them); a
reading outside them raises an alert for the team. `urgent` says whether a reading is at
an urgent level of the patient's targets (the chat then says what to do now), and
`keep_from_text` stores the reading of a message that went to the emergency guard."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from assistant.domain import parsing
from assistant.domain.findings import Direction, Severity
from assistant.domain.measures import MEASURES as KINDS
from assistant.domain.parsing import PLAUSIBLE
from assistant.errors import InvalidInput
from assistant.services import audit, monitoring, targets
from assistant.storage.db import utcnow
from assistant.storage.models import Patient, Reading

UNITS = {"blood_pressure": "mmHg", "glucose": "mmol/L", "weight": "kg", "pulse": "bpm",
         "temperature": "°C", "spo2": "%"}
# What a team threshold can bound: one value per kind, two for blood pressure (oxygen
# saturation has targets only: services/targets).
MEASURES = tuple(m for m in PLAUSIBLE if m != "spo2")
# A reading's time is a real moment: not before 1900, and not after now, give or take a
# device clock running a little fast.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)
# A number of medicines, not a reading: "20 pills", "40 units", "diez pastillas".
_AMOUNT = (r"\d+\s*(?:pills?|tablets?|capsules?|caps|units?|doses?|puffs?|pastillas?|"
           r"comprimidos?|c[aá]psulas?|unidades|dosis)\b")


def _values(kind: str, value: float, value2: float | None) -> dict[str, float]:
    if kind not in UNITS:
        raise InvalidInput(f"kind: unknown reading kind {kind!r}; one of {', '.join(UNITS)}")
    if kind == "blood_pressure":
        if value2 is None:
            raise InvalidInput("value2: blood pressure needs the diastolic value as value2")
        if value2 >= value:
            raise InvalidInput("value2: the diastolic value must be lower than the systolic")
        return {"systolic": value, "diastolic": value2}
    if value2 is not None:
        raise InvalidInput(f"value2: only blood pressure has a second value, not {kind}")
    return {kind: value}


def check_thresholds(thresholds: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Team thresholds as {measure: {"low": x, "high": y}}, either bound optional."""
    for measure, bounds in thresholds.items():
        if measure not in MEASURES:
            raise InvalidInput(f"reading_thresholds: unknown measure {measure!r}; one of "
                               f"{', '.join(MEASURES)}")
        if set(bounds) - {"low", "high"}:
            raise InvalidInput(f"reading_thresholds.{measure}: only 'low' and 'high' bounds")
        for bound, value in bounds.items():
            if not math.isfinite(value):
                raise InvalidInput(f"reading_thresholds.{measure}.{bound}: {value} is not a "
                                   "number a reading can be compared with: give a finite one")
        if "low" in bounds and "high" in bounds and bounds["low"] >= bounds["high"]:
            raise InvalidInput(f"reading_thresholds.{measure}: low must be below high")
    return thresholds


def _moment(taken_at: datetime | None, now: datetime) -> datetime:
    """When a reading was taken, in UTC; `now` when not given."""
    if taken_at is None:
        return now
    if taken_at.utcoffset() is None:
        raise InvalidInput("taken_at: give the time with its UTC offset, "
                           "e.g. 2027-03-01T08:00:00+01:00")
    try:
        moment = taken_at.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00, year 9999 at -14:00: no such instant in UTC
        moment = None
    if moment is None or moment < EARLIEST:
        raise InvalidInput(f"taken_at: {taken_at.isoformat()} is not when a reading was "
                           "taken: give a time from 1900 until now, with its UTC offset")
    if moment > now + CLOCK_SKEW:
        raise InvalidInput("taken_at: a reading cannot be taken in the future")
    return moment


def record(db: Session, *, patient: Patient, kind: str, value: float,
           value2: float | None = None, taken_at: datetime | None = None,
           source: str = "chat", actor: str = "patient") -> Reading:
    """Store a reading in the normalised unit of its kind; refuse what cannot be right."""
    for measure, number in _values(kind, value, value2).items():
        low, high = PLAUSIBLE[measure]
        if not low <= number <= high:
            raise InvalidInput(f"value: {number:g} is not a plausible {measure} "
                               f"({low:g} to {high:g} {UNITS[kind]})")
    now = utcnow()
    # The same kind of reading as a device's: the measure's LOINC code, its effective time.
    reading = Reading(patient_id=patient.id, kind=kind, code=KINDS[kind].code, value=value,
                      value2=value2, unit=UNITS[kind], taken_at=_moment(taken_at, now),
                      received_at=now, source=source[:32])
    db.add(reading)
    db.flush()
    monitoring.evaluate(db, patient=patient, now=now)
    audit.record(db, actor=actor, action="reading.add", patient_id=patient.id,
                 detail=f"reading {reading.id}")
    return reading


def urgent(db: Session, patient: Patient, reading: Reading) -> Direction | None:
    """The direction of the reading when it is at an urgent level of the patient's targets
    in force; None when it is not."""
    grade = targets.grade(targets.plan(db, patient).targets, reading)
    return grade[1] if grade and grade[0] == Severity.urgent else None


def keep_from_text(db: Session, patient: Patient, text: str) -> Reading | None:
    """Store the reading a message names, if it names a plausible one ("my sugar is 2.1
    and I feel confused"): what went to the emergency guard loses nothing. A message that
    counts medicines ("took 20 pills of my sugar medicine", "40 units of insulin") is
    not read for one: its numbers are amounts (the alert keeps the words)."""
    if re.search(_AMOUNT, text, re.IGNORECASE):
        return None
    try:
        found = parsing.parse_measurement(text)
        if found is None:
            return None
        return record(db, patient=patient, kind=found.kind, value=found.value,
                      value2=found.value2)
    except (parsing.Implausible, InvalidInput):
        return None
