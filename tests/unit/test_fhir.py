"""FHIR MedicationRequest import: R4 and R5 into a real database, and every refusal."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from assistant.errors import InvalidInput
from assistant.services import patients, teams
from assistant.services.fhir import import_medication_request, parse_medication_request
from assistant.storage.models import DoseSchedule, Medication, Patient

R4_METFORMIN: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "rx-1",
    "status": "active",
    "intent": "order",
    "subject": {"reference": "Patient/example"},
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "860975", "display": "metformin 500 MG Oral Tablet"}],
        "text": "Metformin",
    },
    "dosageInstruction": [{
        "text": "1 tablet twice a day",
        "patientInstruction": "Take with food",
        "additionalInstruction": [{"text": "Avoid alcohol"}],
        "timing": {"repeat": {
            "frequency": 2, "period": 1, "periodUnit": "d",
            "timeOfDay": ["20:00:00", "08:00:00"],
            "boundsPeriod": {"start": "2027-01-04T09:00:00+01:00", "end": "2027-03-31"},
        }},
        "doseAndRate": [{"doseQuantity": {"value": 1.0, "unit": "tablet"}}],
    }],
}

R5_AMOXICILLIN: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/example"},
    "medication": {"concept": {"coding": [
        {"system": "http://snomed.info/sct", "code": "27658006"},
        {"system": "http://snomed.info/sct", "code": "27658006", "display": "Amoxicillin"},
    ]}},
    "dosageInstruction": [{
        "text": "500 mg every other day, 10 doses",
        "timing": {"repeat": {
            "frequency": 1, "period": 2, "periodUnit": "d", "timeOfDay": ["07:30:00"],
            "boundsPeriod": {"start": "2027-02-01"}, "count": 10,
        }},
        "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg"}}],
    }],
}


@pytest.fixture
def patient(db: Session) -> Patient:
    team = teams.add_team(db, name="Ward 7", actor="test")
    return patients.add_patient(db, team=team, name="Ada", timezone="Europe/Berlin",
                                actor="test")


def _schedule(db: Session, medication: Medication) -> DoseSchedule:
    return db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == medication.id)).one()


def _r4(path: str, value: Any) -> dict[str, Any]:
    """The R4 example with one element (dotted path, list indexes as numbers) set or removed."""
    payload = copy.deepcopy(R4_METFORMIN)
    *parents, last = path.split(".")
    node: Any = payload
    for step in parents:
        node = node[int(step)] if step.isdigit() else node[step]
    if value is _DROP:
        del node[last]
    else:
        node[last] = value
    return payload


_DROP = object()
_REPEAT = "dosageInstruction.0.timing.repeat"


def test_an_r4_request_becomes_a_medication_with_its_schedule(db: Session,
                                                              patient: Patient) -> None:
    med = import_medication_request(db, patient=patient, payload=R4_METFORMIN, actor="nurse")
    db.commit()
    db.expire_all()
    stored = db.get(Medication, med.id)
    assert stored is not None and stored.patient_id == patient.id
    assert (stored.name, stored.strength, stored.dose) == ("Metformin", "", "1 tablet")
    assert stored.instructions == "Take with food; Avoid alcohol"
    row = _schedule(db, stored)
    assert row.times_of_day == ["08:00", "20:00"]
    assert row.days_of_week is None and row.every_n_days == 1
    assert (row.start_date, row.end_date, row.count) == (date(2027, 1, 4), date(2027, 3, 31),
                                                         None)
    assert not row.as_needed


def test_an_r5_request_becomes_a_medication_with_its_schedule(db: Session,
                                                              patient: Patient) -> None:
    med = import_medication_request(db, patient=patient, payload=R5_AMOXICILLIN, actor="nurse")
    db.commit()
    db.expire_all()
    stored = db.get(Medication, med.id)
    assert stored is not None
    assert (stored.name, stored.dose) == ("Amoxicillin", "500 mg")
    assert stored.instructions == "500 mg every other day, 10 doses"
    row = _schedule(db, stored)
    assert row.times_of_day == ["07:30"] and row.every_n_days == 2
    assert (row.start_date, row.end_date, row.count) == (date(2027, 2, 1), None, 10)


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_weekly_on_given_days(db: Session, patient: Patient, version: str) -> None:
    payload = copy.deepcopy(R4_METFORMIN if version == "r4" else R5_AMOXICILLIN)
    payload["dosageInstruction"][0]["timing"] = {"repeat": {
        "frequency": 2, "period": 1, "periodUnit": "wk", "dayOfWeek": ["thu", "mon"],
        "timeOfDay": ["07:00:00"], "boundsPeriod": {"start": "2027-01-04"}}}
    med = import_medication_request(db, patient=patient, payload=payload, actor="nurse")
    row = _schedule(db, med)
    assert row.days_of_week == [0, 3] and row.times_of_day == ["07:00"]
    assert row.every_n_days == 1


@pytest.mark.parametrize(("version", "flag"), [
    ("r4", {"asNeededBoolean": True}),
    ("r5", {"asNeeded": True}),
])
def test_as_needed_needs_no_times(db: Session, patient: Patient, version: str,
                                  flag: dict[str, Any]) -> None:
    payload = copy.deepcopy(R4_METFORMIN if version == "r4" else R5_AMOXICILLIN)
    dosage = payload["dosageInstruction"][0]
    del dosage["timing"]
    dosage.update(flag)
    med = import_medication_request(db, patient=patient, payload=payload, actor="nurse")
    row = _schedule(db, med)
    assert row.as_needed and row.times_of_day == []


@pytest.mark.parametrize(("version", "reason"), [
    ("r4", {"asNeededCodeableConcept": {"text": "headache"}}),
    ("r5", {"asNeededFor": [{"coding": [{"code": "25064002", "display": "headache"}]}]}),
])
def test_as_needed_for_a_reason_keeps_the_reason(version: str, reason: dict[str, Any]) -> None:
    payload = copy.deepcopy(R4_METFORMIN if version == "r4" else R5_AMOXICILLIN)
    dosage = payload["dosageInstruction"][0]
    del dosage["timing"]
    dosage.update(reason)
    imported = parse_medication_request(payload)
    assert imported.schedule.as_needed
    assert imported.instructions.endswith("as needed for headache")


def test_a_contained_medication_gives_name_and_strength_r4(db: Session,
                                                           patient: Patient) -> None:
    payload = copy.deepcopy(R4_METFORMIN)
    del payload["medicationCodeableConcept"]
    payload["contained"] = [{
        "resourceType": "Medication", "id": "med1",
        "code": {"coding": [{"code": "860975", "display": "Metformin"}]},
        "ingredient": [{"itemCodeableConcept": {"text": "metformin"}, "strength": {
            "numerator": {"value": 500, "unit": "mg"},
            "denominator": {"value": 1, "unit": "tablet"}}}],
    }]
    payload["medicationReference"] = {"reference": "#med1"}
    med = import_medication_request(db, patient=patient, payload=payload, actor="nurse")
    assert (med.name, med.strength, med.label) == ("Metformin", "500 mg", "Metformin 500 mg")


def test_a_contained_medication_gives_name_and_strength_r5() -> None:
    payload = copy.deepcopy(R5_AMOXICILLIN)
    payload["contained"] = [{
        "resourceType": "Medication", "id": "susp",
        "code": {"text": "Amoxicillin oral suspension"},
        "ingredient": [{"item": {"concept": {"text": "amoxicillin"}}, "strengthRatio": {
            "numerator": {"value": 250, "unit": "mg"},
            "denominator": {"value": 5, "unit": "mL"}}}],
    }]
    payload["medication"] = {"reference": {"reference": "#susp"}}
    imported = parse_medication_request(payload)
    assert (imported.name, imported.strength) == ("Amoxicillin oral suspension", "250 mg/5 mL")


def test_no_dose_means_one_tablet() -> None:
    assert parse_medication_request(_r4("dosageInstruction.0.doseAndRate", _DROP)).dose == \
        "1 tablet"


def test_a_schedule_the_patient_could_not_follow_is_refused_before_writing(
        db: Session, patient: Patient) -> None:
    payload = _r4(f"{_REPEAT}.boundsPeriod", {"start": "2027-03-01", "end": "2027-02-01"})
    with pytest.raises(InvalidInput, match="before start date"):
        import_medication_request(db, patient=patient, payload=payload, actor="nurse")
    assert db.exec(select(Medication)).all() == []


_EXTERNAL = {"medicationReference": {"reference": "Medication/123"}}
_R4_REFUSALS: list[tuple[str, Any, str]] = [
    ("resourceType", "Patient", "resourceType 'Patient'"),
    ("medicationCodeableConcept", _DROP, "no medication"),
    ("medicationCodeableConcept", {"coding": [{"code": "860975"}]},
     "medicationCodeableConcept has neither text nor a coding display"),
    ("status", "stopped", "status 'stopped'"),
    ("status", "completed", "status 'completed'"),
    ("doNotPerform", True, "doNotPerform"),
    ("modifierExtension", [{"url": "http://example.org/x", "valueBoolean": True}],
     "modifierExtension"),
    ("dosageInstruction", _DROP, "0 dosageInstruction"),
    ("dosageInstruction", [], "0 dosageInstruction"),
    ("dosageInstruction", [{"text": "a"}, {"text": "b"}], "2 dosageInstruction"),
    ("unknownElement", 1, "unknownElement: Extra inputs are not permitted"),
    (f"{_REPEAT}.timeOfDay", ["25:00"], "dosageInstruction[0].timing.repeat.timeOfDay[0]:"),
    (f"{_REPEAT}.timeOfDay", ["08:00:30", "20:00:00"], "timeOfDay[0] 08:00:30 has seconds"),
    (f"{_REPEAT}.dayOfWeek", ["funday"], "dayOfWeek[0] 'funday'"),
    ("dosageInstruction.0.doseAndRate", [{"doseRange": {"low": {"value": 1, "unit": "tablet"},
                                                        "high": {"value": 2, "unit": "tablet"}}}],
     "doseAndRate[0].doseRange"),
    ("dosageInstruction.0.doseAndRate", [{"rateQuantity": {"value": 5, "unit": "mL/h"}}],
     "doseAndRate[0].rateQuantity"),
    ("dosageInstruction.0.doseAndRate",
     [{"doseQuantity": {"value": 1, "unit": "tablet"}}] * 2, "doseAndRate has 2 entries"),
    ("dosageInstruction.0.doseAndRate.0.doseQuantity", {"value": 2},
     "doseQuantity has no unit"),
    ("dosageInstruction.0.doseAndRate.0.doseQuantity", {"value": 2, "unit": "mg",
                                                         "comparator": "<"},
     "doseQuantity.comparator"),
    ("dosageInstruction.0.additionalInstruction", [{"coding": [{"code": "311504000"}]}],
     "additionalInstruction[0] has neither text nor a coding display"),
    (f"{_REPEAT}.frequency", 3, "frequency 3 per day but 2 timeOfDay"),
    (f"{_REPEAT}.period", 1.5, "period 1.5 d"),
    (f"{_REPEAT}.periodUnit", _DROP, "give period and periodUnit"),
    (f"{_REPEAT}.periodUnit", "h", "periodUnit 'h'"),
    (f"{_REPEAT}.periodUnit", "min", "periodUnit 'min'"),
    (f"{_REPEAT}.periodUnit", "mo", "periodUnit 'mo'"),
    (f"{_REPEAT}.periodUnit", "a", "periodUnit 'a'"),
    (f"{_REPEAT}.periodUnit", "wk", "periodUnit 'wk' needs dayOfWeek"),
    (f"{_REPEAT}.countMax", 4, "timing.repeat.countMax"),
    (f"{_REPEAT}.duration", 30, "timing.repeat.duration"),
    (f"{_REPEAT}.durationMax", 45, "timing.repeat.durationMax"),
    (f"{_REPEAT}.frequencyMax", 3, "timing.repeat.frequencyMax"),
    (f"{_REPEAT}.periodMax", 2, "timing.repeat.periodMax"),
    (f"{_REPEAT}.when", ["ACM"], "timing.repeat.when"),
    (f"{_REPEAT}.offset", 30, "timing.repeat.offset"),
    (f"{_REPEAT}.boundsPeriod", {"start": "2027-01"}, "boundsPeriod.start '2027-01'"),
    (f"{_REPEAT}.timeOfDay", _DROP, "frequency 2 per day needs the clock times"),
    ("dosageInstruction.0.timing.event", ["2027-01-04T08:00:00Z"], "timing.event"),
    ("dosageInstruction.0.timing", {"code": {"text": "BID"}}, "timing.code without"),
    ("dosageInstruction.0.timing", {"repeat": {"count": 3}}, "timing.repeat.timeOfDay"),
    ("dosageInstruction.0.timing", _DROP, "dosageInstruction[0].timing is missing"),
]


@pytest.mark.parametrize(("path", "value", "message"), _R4_REFUSALS,
                         ids=[f"{p}=" + ("(dropped)" if v is _DROP else repr(v))[:60]
                              for p, v, _ in _R4_REFUSALS])
def test_what_cannot_be_kept_is_refused_naming_the_element(path: str, value: Any,
                                                           message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_medication_request(_r4(path, value))
    assert message in str(refused.value)


def _contained_r4(reference: str) -> dict[str, Any]:
    payload = _r4("medicationCodeableConcept", _DROP)
    payload["contained"] = [{"resourceType": "Medication", "id": "med1",
                             "code": {"text": "Metformin"}}]
    payload["medicationReference"] = {"reference": reference}
    return payload


def _weekly(**repeat: Any) -> dict[str, Any]:
    return _r4(f"{_REPEAT}", {"periodUnit": "wk", "timeOfDay": ["07:00:00"], **repeat})


@pytest.mark.parametrize(("payload", "message"), [
    ({**_r4("medicationCodeableConcept", _DROP), **_EXTERNAL},
     "medicationReference to an external Medication cannot be resolved; "
     "send medicationCodeableConcept"),
    (_contained_r4("#other"), "medicationReference '#other' names no contained Medication"),
    ({**copy.deepcopy(R5_AMOXICILLIN),
      "medication": {"reference": {"reference": "Medication/9"}}},
     "medication to an external Medication cannot be resolved"),
    ({**copy.deepcopy(R5_AMOXICILLIN), "status": "on-hold"}, "status 'on-hold'"),
    ({**copy.deepcopy(R5_AMOXICILLIN), "medicationCodeableConcept": {"text": "x"}},
     "medicationCodeableConcept: Extra inputs are not permitted"),
    (_weekly(period=2, dayOfWeek=["mon"]), "period 2 wk"),
    (_weekly(period=1, frequency=3, dayOfWeek=["mon", "thu"]),
     "frequency 3 per week but dayOfWeek and timeOfDay give 2"),
    (_r4(f"{_REPEAT}", {"frequency": 2, "period": 1, "periodUnit": "d"}),
     "frequency 2 per day needs the clock times: give timeOfDay"),
    (_r4(f"{_REPEAT}", {"frequency": 1, "period": 3, "periodUnit": "d",
                        "timeOfDay": ["08:00:00", "09:00:00"]}),
     "frequency 1 per 3 days but 2 timeOfDay"),
    (_weekly(period=1, dayOfWeek=["mon"], boundsDuration={"value": 10, "code": "d"}),
     "timing.repeat.boundsDuration"),
    (_weekly(period=1, dayOfWeek=["mon"], boundsRange={"low": {"value": 1}}),
     "timing.repeat.boundsRange"),
    ([("not", "a dict")], "JSON object"),
], ids=["r4-external", "r4-missing-contained", "r5-external", "r5-status", "r5-with-r4-element",
        "wk-period-2", "wk-frequency", "frequency-no-times", "every-3-days-frequency",
        "boundsDuration", "boundsRange", "not-a-dict"])
def test_more_refusals(payload: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_medication_request(payload)
    assert message in str(refused.value)


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_an_as_needed_frequency_is_a_limit_kept_in_words(version: str) -> None:
    payload = copy.deepcopy(R4_METFORMIN if version == "r4" else R5_AMOXICILLIN)
    dosage = payload["dosageInstruction"][0]
    dosage["timing"] = {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}
    dosage.update({"asNeededBoolean": True} if version == "r4" else {"asNeeded": True})
    imported = parse_medication_request(payload)
    assert imported.schedule.as_needed and imported.schedule.times == ()
    assert imported.instructions.endswith("at most 1 time every 4 hours")
