"""A second identifier beside the name: date of birth and the clinic's record number,
through the API (the console's forms and lists show the same fields)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Team


def _add(client: TestClient, team: Team, **body: Any) -> Any:
    return client.post("/api/v1/patients", headers=team.clinician.headers,
                       json={"display_name": "Ada Okafor", "timezone": "Europe/London", **body})


def test_two_patients_of_one_name_differ_by_birth_date_and_record_number(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    first = _add(client, north, birth_date="1948-03-21", record_number="RN-1001").json()
    second = _add(client, north, birth_date="1961-11-02").json()
    assert (first["birth_date"], first["record_number"]) == ("1948-03-21", "RN-1001")
    assert (second["birth_date"], second["record_number"]) == ("1961-11-02", None)
    changed = client.patch(f"/api/v1/patients/{second['id']}", headers=north.clinician.headers,
                           json={"record_number": "RN-2002"})
    assert changed.json()["record_number"] == "RN-2002"
    cleared = client.patch(f"/api/v1/patients/{second['id']}", headers=north.clinician.headers,
                           json={"record_number": None})
    assert cleared.json()["record_number"] is None


def test_a_record_number_names_one_patient_in_a_team_only(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    assert _add(client, north, record_number="RN-7").status_code == 201
    again = _add(client, north, record_number="RN-7")
    assert again.status_code == 422 and "record_number" in again.text
    assert _add(client, south, record_number="RN-7").status_code == 201  # another clinic's


@pytest.mark.parametrize("born", [str(date.today() + timedelta(days=1)), "1899-12-31",
                                  "21/03/1948"])
def test_an_impossible_birth_date_is_refused_naming_the_field(
        client: TestClient, teams: tuple[Team, Team], born: str) -> None:
    answer = _add(client, teams[0], birth_date=born)
    assert answer.status_code == 422 and "birth_date" in answer.text
