"""Forms that keep what was typed: a refused form comes back as typed (422), with an error
summary at the top that links to the field and the message at the field; nothing is
saved. Time zones are IANA place names, the team's by default; "GMT" is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from assistant.storage.db import session
from assistant.storage.models import AuditEntry, CareTeam, Medication, Patient
from tests.web.conftest import Team, login


def _changes() -> int:
    """Changes leave audit entries; reads are left out."""
    with session() as db:
        return db.exec(select(func.count()).select_from(AuditEntry).where(
            ~AuditEntry.action.contains("view"), AuditEntry.action != "alerts.burden",
            AuditEntry.action != "member.login")).one()


def refused(answer: Any, key: str, field: str, *typed: str) -> str:
    """Assert the NHS pattern: 422, a summary linking to the field, the field marked and
    described by its message, the typed values in the form; returns the message."""
    assert answer.status_code == 422, answer.text[:300]
    page = answer.text
    summary = re.search(r'<div class="error-summary" role="alert" tabindex="-1" autofocus'
                        r'.*?</div>', page, re.S)
    assert summary, "no error summary"
    link = re.search(rf'<a href="#{key}-{field}">([^<]+)</a>', summary.group(0))
    assert link, summary.group(0)
    assert re.search(rf'id="{key}-{field}" name="{field}" aria-invalid="true" '
                     rf'aria-describedby="{key}-{field}-error"', page)
    assert f'<span class="field-error" id="{key}-{field}-error">{link.group(1)}</span>' in page
    for value in typed:
        assert f'value="{value}"' in page, value
    return link.group(1)


def test_adding_a_patient_keeps_what_was_typed(client: TestClient,
                                               teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    before = _changes()
    form = {"csrf": csrf, "display_name": "Ada Okafor", "birth_date": "1850-02-01",
            "record_number": "RN-77", "timezone": "Europe/London", "language": "en",
            "conditions": "diabetes", "goals": "walk more"}
    message = refused(client.post("/patients", data=form), "patient", "birth_date",
                      "Ada Okafor", "1850-02-01", "RN-77", "Europe/London", "diabetes",
                      "walk more")
    assert "1900-01-01" in message
    gmt = client.post("/patients", data={**form, "birth_date": "1950-02-01", "timezone": "GMT"})
    assert "Europe/London" in refused(gmt, "patient", "timezone", "GMT", "Ada Okafor")
    for zone in ("EST", "Etc/GMT+5", "UTC+1"):
        refused(client.post("/patients", data={**form, "birth_date": "", "timezone": zone}),
                "patient", "timezone", zone)
    assert _changes() == before
    added = client.post("/patients", data={**form, "birth_date": "1950-02-01"},
                        follow_redirects=False)
    assert added.status_code == 303
    with session() as db:
        ada = db.exec(select(Patient).where(Patient.display_name == "Ada Okafor")).one()
        assert (str(ada.birth_date), ada.record_number) == ("1950-02-01", "RN-77")


def test_the_team_zone_is_new_patients_default(client: TestClient,
                                               teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.admin.email)
    settings = client.get("/settings").text
    assert 'id="team-timezone" name="timezone"' in settings and 'value="UTC"' in settings
    refused(client.post("/settings", data={"csrf": csrf, "timezone": "GMT",
                                           "missed_alert_after": "2"}),
            "team", "timezone", "GMT")
    client.post("/settings", data={"csrf": csrf, "timezone": "Europe/London",
                                   "missed_alert_after": "2", "self_shift_minutes": "0",
                                   "escalate_after_minutes": "15"})
    with session() as db:
        team = db.get(CareTeam, north.id)
        assert team is not None and team.timezone == "Europe/London"
    form = client.get("/patients/new").text
    assert re.search(r'id="patient-timezone" name="timezone" value="Europe/London"', form)
    assert '<option value="Europe/London">' in form and '<option value="GMT">' not in form
    client.post("/patients", data={"csrf": csrf, "display_name": "Ben", "timezone": ""})
    created = client.post("/api/v1/patients", headers=north.admin.headers,
                          json={"display_name": "Cy"})
    assert created.status_code == 201 and created.json()["timezone"] == "Europe/London"
    assert client.get("/api/v1/team", headers=north.admin.headers).json()[
        "timezone"] == "Europe/London"
    with session() as db:
        ben = db.exec(select(Patient).where(Patient.display_name == "Ben")).one()
        assert ben.timezone == "Europe/London"
    refused_api = client.patch("/api/v1/team", headers=north.admin.headers,
                               json={"timezone": "EST"})
    assert refused_api.status_code == 422 and "timezone" in refused_api.text


def test_the_profile_form_keeps_what_was_typed(client: TestClient,
                                               teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    before = _changes()
    url = f"/patients/{north.patient_id}/profile"
    form = {"csrf": csrf, "display_name": "Renamed Patient", "timezone": "Europe/Berlin",
            "language": "es", "birth_date": "1947-05-06", "record_number": "RN-9",
            "quiet_start": "25:00", "quiet_end": "07:00", "advice_per_day": "1",
            "status": "active"}
    refused(client.post(url, data=form), "profile", "quiet_start", "Renamed Patient", "25:00",
            "1947-05-06", "RN-9")
    refused(client.post(url, data={**form, "quiet_start": "", "timezone": "GMT"}),
            "profile", "timezone", "GMT", "Renamed Patient")
    assert _changes() == before
    with session() as db:
        patient = db.get(Patient, north.patient_id)
        assert patient is not None and patient.display_name == "Patient of North Clinic"


@pytest.mark.parametrize(("path", "key", "form", "field", "typed"), [
    ("medications", "med-add", {"name": "Aspirin", "strength": "75 mg", "times": "8pm-ish"},
     "times", ("Aspirin", "75 mg", "8pm-ish")),
    ("medications", "med-add", {"name": "Aspirin", "times": "08:00", "start_date": "3 May"},
     "start_date", ("Aspirin", "3 May")),
    ("medications", "med-add", {"name": " ", "strength": "75 mg", "times": "08:00"},
     "name", ("75 mg", "08:00")),
    ("medications/{med}/schedule", "med-{med}-schedule",
     {"times": "09:00", "every_n_days": "two"}, "every_n_days", ("09:00", "two")),
    ("medications/{med}/label", "med-{med}-label",
     {"name": "", "dose": "2 tablets", "purpose": "sugar"}, "name", ("2 tablets", "sugar")),
])
def test_medication_forms_keep_what_was_typed(client: TestClient, teams: tuple[Team, Team],
                                              path: str, key: str, form: dict[str, str],
                                              field: str, typed: tuple[str, ...]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    before = _changes()
    med = north.medication_id
    answer = client.post(f"/patients/{north.patient_id}/{path.format(med=med)}",
                         data={"csrf": csrf, "days": ["mon", "wed"], **form})
    refused(answer, key.format(med=med), field, *typed)
    if "med-" in key and key != "med-add":   # the medicine's details are open
        assert f'<details id="med-{med}" open>' in answer.text
    assert _changes() == before
    with session() as db:
        assert db.exec(select(func.count()).select_from(Medication)).one() == 2
        metformin = db.get(Medication, med)
        assert metformin is not None and metformin.name == "Metformin"


def test_the_days_ticked_are_kept(client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    answer = client.post(f"/patients/{north.patient_id}/medications",
                         data={"csrf": csrf, "name": "Aspirin", "times": "25:00",
                               "days": ["tue", "fri"]})
    form = answer.text[answer.text.index('action="/patients/1/medications">'):]
    assert 'value="tue" checked' in form and 'value="fri" checked' in form
    assert 'value="mon" checked' not in form


def test_team_forms_keep_what_was_typed(client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.admin.email)
    before = _changes()
    settings = {"csrf": csrf, "timezone": "UTC", "missed_alert_after": "99",
                "crisis_line": "0800 123", "glucose_low": "3.9"}
    refused(client.post("/settings", data=settings), "team", "missed_alert_after", "99",
            "0800 123", "3.9")
    refused(client.post("/settings", data={**settings, "missed_alert_after": "2",
                                           "glucose_low": "low"}),
            "team", "glucose_low", "low", "0800 123")
    member = client.post("/settings/members", data={
        "csrf": csrf, "name": "Sam Ng", "email": "sam@north.example", "password": "short",
        "role": "admin"})
    refused(member, "member", "password", "Sam Ng", "sam@north.example")
    assert 'value="short"' not in member.text           # a password is never typed back
    assert "<option selected>admin</option>" in member.text
    refused(client.post("/settings/members", data={
        "csrf": csrf, "name": "Sam Ng", "email": "not-an-address",
        "password": "correct horse battery staple"}), "member", "email", "Sam Ng")
    assert _changes() == before


def test_editing_a_member_keeps_what_was_typed(client: TestClient,
                                               teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.admin.email)
    url = f"/settings/members/{north.clinician.id}"
    assert f'href="{url}"' in client.get("/settings").text
    before = _changes()
    answer = client.post(url, data={"csrf": csrf, "name": " ", "role": "admin"})
    refused(answer, "edit", "name")
    assert "<option selected>admin</option>" in answer.text
    alone = client.post(f"/settings/members/{north.admin.id}",
                        data={"csrf": csrf, "name": "Boss", "role": "clinician"})
    assert "another active admin" in refused(alone, "edit", "role", "Boss")
    assert _changes() == before
    client.post(url, data={"csrf": csrf, "name": "Nurse Ng", "role": "clinician"})
    assert ">Nurse Ng</a>" in client.get("/settings").text
