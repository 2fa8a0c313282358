"""POST /api/v1/patients/{id}/observations end to end, with a member's API token."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.storage.db import session
from assistant.storage.models import Reading
from tests.observation_docs import blood_pressure, bundle, observation
from tests.web.conftest import Team

FHIR_JSON = "application/fhir+json"


def _post(client: TestClient, member_headers: dict[str, str], patient_id: int,
          document: object, content_type: str = FHIR_JSON) -> object:
    return client.post(f"/api/v1/patients/{patient_id}/observations",
                       content=json.dumps(document),
                       headers={**member_headers, "Content-Type": content_type})


def test_a_device_bundle_is_stored_and_answered_entry_by_entry(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    document = bundle("transaction", blood_pressure(150, 95, identifier="bp-1"),
                      observation("2339-0", 6.2, "mmol/L"),
                      observation("8867-4", 64, "/min", device="Watch"))
    answer = _post(client, north.clinician.headers, north.patient_id, document)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(a["index"], a["duplicate"]) for a in body["accepted"]] == [(0, False), (2, False)]
    assert body["refused"] == [{"index": 1, "reason": "unit: mmol/L is not a unit of LOINC "
                                "2339-0; one of mg/dL (glucose in mmol/L is LOINC 15074-8)"}]
    # Sent again (a device retrying): the same ids, nothing new.
    again = _post(client, north.clinician.headers, north.patient_id, document,
                  "application/json").json()
    assert [(a["id"], a["duplicate"]) for a in again["accepted"]] == [
        (a["id"], True) for a in body["accepted"]]
    listed = client.get(f"/api/v1/patients/{north.patient_id}/readings",
                        headers=north.clinician.headers).json()
    assert sorted((r["kind"], r["value"], r["source"]) for r in listed) == [
        ("blood_pressure", 150, "fhir"), ("pulse", 64, "fhir")]


def test_a_lone_observation_refused_is_a_422_naming_the_element(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    answer = _post(client, north.clinician.headers, north.patient_id,
                   observation("29463-7", 4000, "kg"))
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"loc": ["body", "value"], "type": "value_error",
                                        "msg": "4000 kg is not a plausible weight (20 to "
                                               "350 kg)"}]
    one = _post(client, north.clinician.headers, north.patient_id,
                observation("29463-7", 81.5, "kg"))
    assert one.status_code == 200 and one.json()["refused"] == []
    with session() as db:
        assert [r.value for r in db.exec(select(Reading)).all()] == [81.5]


def test_another_teams_patient_or_no_token_stores_nothing(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    document = observation("29463-7", 81.5, "kg")
    assert _post(client, south.clinician.headers, north.patient_id,
                 document).status_code == 404
    assert _post(client, {}, north.patient_id, document).status_code == 401
    bad = _post(client, north.clinician.headers, north.patient_id,
                {"resourceType": "Bundle", "type": "history", "entry": []})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "type"]
    with session() as db:
        assert db.exec(select(Reading)).all() == []
