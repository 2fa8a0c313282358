"""FHIR Observations stored as readings on SQLite and PostgreSQL: Bundle kinds, refused
entries with their index and reason, the same observation stored once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from assistant.errors import InvalidInput
from assistant.services import ingest, observations, readings
from assistant.services.teams import add_team
from assistant.storage.models import AuditEntry, Patient, Reading
from tests.observation_docs import blood_pressure, bundle, observation


@pytest.fixture
def patient(any_db: Session) -> Patient:
    team = add_team(any_db, name="North", actor="test")
    found = Patient(team_id=team.id, display_name="Ada")
    any_db.add(found)
    any_db.commit()
    return found


def _stored(db: Session) -> list[tuple[str, str, float, float | None, str]]:
    return [(r.kind, r.code, r.value, r.value2, r.source)
            for r in db.exec(select(Reading).order_by(Reading.id)).all()]


@pytest.mark.parametrize("kind", ["collection", "batch", "transaction"])
def test_a_bundle_stores_its_good_entries_and_refuses_each_bad_one_by_index(
        any_db: Session, patient: Patient, kind: str) -> None:
    document = bundle(
        kind,
        observation("29463-7", 180, "[lb_av]"),
        observation("29463-7", 4000, "kg"),
        blood_pressure(142, 91),
        {"resourceType": "Patient"},
        observation("2339-0", 108, "mg/dL", status="entered-in-error"),
        observation("8310-5", 100.4, "[degF]", at="2026-03-01"),
        observation("59408-5", 94, "%"))
    outcome = observations.receive(any_db, patient=patient, document=document, actor="test")
    any_db.commit()
    assert [index for index, _, _ in outcome.accepted] == [0, 2, 6]
    assert outcome.refused == [
        (1, "value: 4000 kg is not a plausible weight (20 to 350 kg)"),
        (3, "resourceType: Patient is not an Observation"),
        (4, "status: entered-in-error is not a result to keep; one of final, amended, "
            "corrected, preliminary"),
        (5, "effectiveDateTime: a day alone is not enough: give the time with its UTC "
            "offset")]
    assert _stored(any_db) == [("weight", "29463-7", 81.647, None, "fhir"),
                               ("blood_pressure", "85354-9", 142, 91, "fhir"),
                               ("spo2", "59408-5", 94, None, "fhir")]
    reading = any_db.get(Reading, outcome.accepted[0][1])
    assert reading is not None
    assert reading.taken_at == datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    assert reading.received_at > reading.taken_at
    entry = any_db.exec(select(AuditEntry).where(AuditEntry.action == "observations.add")).one()
    assert entry.detail == "fhir: 3 stored, 0 already stored, 4 refused"


def test_an_entry_fhir_resources_refuses_names_the_element(any_db: Session,
                                                           patient: Patient) -> None:
    bad = observation("8867-4", 72, "/min")
    bad["valueQuantity"]["value"] = "seventy"
    outcome = observations.receive(any_db, patient=patient,
                                   document=bundle("batch", bad), actor="test")
    [(index, reason)] = outcome.refused
    assert index == 0 and reason.startswith("valueQuantity.value: ")


def test_the_same_identifier_is_stored_once(any_db: Session, patient: Patient) -> None:
    first = observation("8867-4", 72, "/min", identifier="hr-1")
    again = observation("8867-4", 73, "/min", at="2026-03-01T08:05:00+01:00",
                        identifier="hr-1")
    one = observations.receive(any_db, patient=patient, document=first, actor="test")
    any_db.commit()
    two = observations.receive(any_db, patient=patient, document=bundle("batch", again, first),
                               actor="test")
    any_db.commit()
    [(_, stored_id, duplicate)] = one.accepted
    assert not duplicate
    assert two.accepted == [(0, stored_id, True), (1, stored_id, True)]
    assert _stored(any_db) == [("pulse", "8867-4", 72, None, "fhir")]


def test_the_same_device_code_and_time_is_stored_once(any_db: Session,
                                                      patient: Patient) -> None:
    cuff = blood_pressure(130, 85, device="Device/cuff-9")
    outcome = observations.receive(any_db, patient=patient,
                                   document=bundle("collection", cuff, cuff), actor="test")
    any_db.commit()
    assert [duplicate for _, _, duplicate in outcome.accepted] == [False, True]
    # Another device at the same time, or the same device later, is another reading.
    observations.receive(any_db, patient=patient, document=bundle(
        "collection", blood_pressure(131, 85, device="Device/cuff-10"),
        blood_pressure(129, 84, at="2026-03-01T08:01:00+01:00", device="Device/cuff-9")),
        actor="test")
    any_db.commit()
    assert [r[2] for r in _stored(any_db)] == [130, 131, 129]


def test_not_an_observation_or_a_bundle_is_refused_as_a_whole(any_db: Session,
                                                              patient: Patient) -> None:
    for document, reason in [({"resourceType": "Patient"}, "^resourceType: send an"),
                             ({"resourceType": "Bundle", "type": "searchset"}, "^type: "),
                             ([1, 2], "^resourceType: send an")]:
        with pytest.raises(InvalidInput, match=reason):
            observations.receive(any_db, patient=patient, document=document, actor="test")


def test_a_chat_reading_is_the_same_kind_of_reading(any_db: Session, patient: Patient) -> None:
    reading = readings.record(any_db, patient=patient, kind="pulse", value=70)
    assert (reading.code, reading.source, reading.device, reading.identifier) == (
        "8867-4", "chat", None, None)
    assert reading.received_at == reading.taken_at
    # Chat readings carry no device: two at the same moment never collide.
    readings.record(any_db, patient=patient, kind="pulse", value=71,
                    taken_at=reading.taken_at)
    any_db.commit()
    assert len(_stored(any_db)) == 2


def test_a_bundle_with_the_same_observation_twice_stores_it_once(any_db: Session,
                                                                 patient: Patient) -> None:
    weight = observation("29463-7", 81.4, "kg", identifier="scale-1")
    outcome = observations.receive(any_db, patient=patient, document=bundle(
        "batch", weight, observation("8867-4", 72, "/min"), weight), actor="test")
    any_db.commit()
    first = outcome.accepted[0][1]
    assert [(index, duplicate) for index, _, duplicate in outcome.accepted] == [
        (0, False), (1, False), (2, True)]
    assert outcome.accepted[2][1] == first
    assert _stored(any_db) == [("weight", "29463-7", 81.4, None, "fhir"),
                               ("pulse", "8867-4", 72, None, "fhir")]


def test_readings_alike_without_identifier_or_device_are_each_stored(
        any_db: Session, patient: Patient) -> None:
    pulse = observation("8867-4", 72, "/min")
    outcome = observations.receive(any_db, patient=patient,
                                   document=bundle("collection", pulse, pulse), actor="test")
    any_db.commit()
    ids = [stored_id for _, stored_id, duplicate in outcome.accepted if not duplicate]
    assert len(set(ids)) == 2
    assert sorted(ids) == sorted(any_db.exec(select(Reading.id)).all())


def test_a_bundle_larger_than_one_insert_answers_each_entry_with_its_reading(
        any_db: Session, patient: Patient) -> None:
    size = ingest.BATCH + 20
    minutes = [observation("8867-4", 50 + n % 60, "/min", identifier=f"hr-{n}",
                           at=f"2026-03-01T{8 + n // 60:02d}:{n % 60:02d}:00+01:00")
               for n in range(size)]
    outcome = observations.receive(any_db, patient=patient,
                                   document=bundle("batch", *minutes, minutes[3]), actor="test")
    any_db.commit()
    assert [index for index, _, _ in outcome.accepted] == list(range(size + 1))
    assert outcome.stored == size and outcome.accepted[-1][1:] == (outcome.accepted[3][1], True)
    values = dict(any_db.exec(select(Reading.id, Reading.value)).all())
    assert [values[stored_id] for _, stored_id, _ in outcome.accepted[:size]] == [
        50 + n % 60 for n in range(size)]
