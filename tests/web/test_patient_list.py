"""The patient list of a busy ward: "Add a patient" at the top, pages of 50, filters
(not linked, unreachable, paused, urgent, missed today), a search by name or record
number, today's doses in each patient's own day, and the date of birth and record number
beside every name (three "Ada Okafor" rows differ), in the console and the API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from assistant.storage.db import utcnow
from tests.web.conftest import Team, login
from tests.web.ward_patients import seed_ward

NAMES = re.compile(r'<a href="/patients/\d+">([^<]+)</a>')


@pytest.fixture
def ward(client: TestClient, teams: tuple[Team, Team]) -> dict[str, int]:
    ids = seed_ward(teams[0].id, utcnow())
    login(client, teams[0].clinician.email)
    return ids


def _rows(page: str) -> list[str]:
    return NAMES.findall(page)


def test_add_a_patient_is_at_the_top_and_keeps_both_identifiers(
        client: TestClient, ward: dict[str, int]) -> None:
    page = client.get("/patients").text
    assert page.index('href="/patients/new">Add a patient') < page.index("<table")
    form = client.get("/patients/new").text
    assert 'type="date"' in form and "Record number" in form
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    added = client.post("/patients", data={
        "csrf": csrf.group(1), "display_name": "Ada Okafor", "timezone": "Europe/London",
        "birth_date": "1950-07-14", "record_number": "MRN-9000"})
    assert added.status_code == 200
    start = added.text.index('<header class="banner"')
    banner = added.text[start:added.text.index("</header>", start)]
    assert "Ada Okafor" in banner and "14 Jul 1950" in banner and "MRN-9000" in banner
    assert "Europe/London" in banner and re.search(r"\(\d\d y\)", banner)
    refused = client.post("/patients", data={
        "csrf": csrf.group(1), "display_name": "Ada Okafor", "timezone": "Europe/London",
        "birth_date": "14/07/1950"}, follow_redirects=False)
    # The form again as typed, the message at the date of birth (tests/web/test_forms_*).
    assert refused.status_code == 422
    assert "write the date as YYYY-MM-DD" in refused.text and 'value="14/07/1950"' in refused.text


def test_three_patients_of_one_name_are_told_apart(client: TestClient,
                                                   ward: dict[str, int]) -> None:
    page = client.get("/patients?q=Ada+Okafor").text
    assert _rows(page) == ["Ada Okafor"] * 3
    shown = re.findall(r'<span class="identity">([^<]+)</span>', page)
    assert sorted(shown) == [f"born 2 Mar {year} ({_age(year)} y) · record MRN-000{n}"
                             for n, year in ((1, 1968), (2, 1988), (3, 2008))]
    by_record = client.get("/patients?q=mrn-0002").text
    assert _rows(by_record) == ["Ada Okafor"] and "born 2 Mar 1988" in by_record


def _age(year: int) -> int:
    today = utcnow().date()
    return today.year - year - ((today.month, today.day) < (3, 2))


def test_pages_of_fifty_with_links(client: TestClient, ward: dict[str, int]) -> None:
    first = client.get("/patients").text
    assert 'href="/patients?sort=risk&amp;page=2" rel="next"' in first
    last = client.get("/patients?page=4").text
    assert len(_rows(last)) == 1 and "Patients 151–151 of 151" in last
    assert _rows(last) == ["Ines Duarte"]   # paused: the end of the list
    assert 'rel="prev"' in last and 'aria-current="page">4<' in last
    every = [n for p in (1, 2, 3, 4) for n in _rows(client.get(f"/patients?page={p}").text)]
    assert len(every) == 151 and len(set(every)) == 149   # three Ada Okafor
    assert client.get("/patients?page=99").status_code == 200


@pytest.mark.parametrize(("only", "expected"), [
    ("not_linked", {"Nadia Haddad", "Patient of North Clinic"}),
    ("unreachable", {"Piotr Nowak"}),
    ("paused", {"Ines Duarte"}),
    ("urgent", {"Henry Osei"}),
])
def test_filters(client: TestClient, ward: dict[str, int], only: str,
                 expected: set[str]) -> None:
    page = client.get(f"/patients?only={only}").text
    assert set(_rows(page)) == expected
    assert '<label for="only">Show</label>' in page and f'value="{only}" selected' in page


def test_missed_today_and_the_today_view(client: TestClient, teams: tuple[Team, Team],
                                         ward: dict[str, int]) -> None:
    missed = _rows(client.get("/patients?only=missed_today").text)
    assert {"Tomas Weber", "Lena Fischer"} <= set(missed) and "Kenji Sato" not in missed
    assert missed[0] == "Tomas Weber"   # most at risk first, within the filter too
    today = client.get("/patients?view=today&q=Lena").text
    assert "<caption>Today's doses, in each patient's own day</caption>" in today
    row = today[today.index("Lena Fischer"):today.index("</tr>", today.index("Lena Fischer"))]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    due, answered, missed_today, pending = (int(c) for c in cells[:4])
    assert missed_today == 1 and due == answered + missed_today + pending >= 1
    api = client.get("/api/v1/patients?only=missed_today&search=Lena",
                     headers=teams[0].clinician.headers).json()
    assert api[0]["today"]["missed"] == 1 and api[0]["reasons"] == ["1 missed today"]
    # The Tokyo patient's day is Tokyo's: the last dose is in it, answered.
    kenji = client.get("/api/v1/patients?search=Kenji", headers=teams[0].clinician.headers)
    assert kenji.json()[0]["today"]["answered"] >= 1 and kenji.json()[0]["today"]["missed"] == 0


def test_the_api_filters_and_pages(client: TestClient, teams: tuple[Team, Team],
                                   ward: dict[str, int]) -> None:
    h = teams[0].clinician.headers
    found = client.get("/api/v1/patients?only=unreachable", headers=h)
    assert [p["display_name"] for p in found.json()] == ["Piotr Nowak"]
    assert found.json()[0]["reasons"] == ["unreachable"]
    second = client.get("/api/v1/patients?offset=50&limit=50", headers=h)
    assert len(second.json()) == 50 and second.headers["X-Total-Count"] == "151"
    assert client.get("/api/v1/patients?search=mrn-0001", headers=h).json()[0][
        "record_number"] == "MRN-0001"
    assert client.get("/api/v1/patients?only=nobody", headers=h).status_code == 422
    assert client.get("/api/v1/patients?limit=0", headers=h).status_code == 422
