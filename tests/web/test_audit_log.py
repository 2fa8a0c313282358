"""The audit log as an admin reads it: members by name, filters, pages of 50 newest first,
a CSV of exactly the filtered set that a spreadsheet cannot run, reading it is itself
logged once, and a list view is one entry naming the patients shown (never one per
patient)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import col, select

from assistant.services import audit
from assistant.services.audit_log import safe_cell
from assistant.storage.db import session, utcnow
from assistant.storage.models import Alert, AlertKind, AlertSeverity, AuditEntry
from tests.web.conftest import Team, login


def _entries(action: str) -> list[AuditEntry]:
    with session() as db:
        return list(db.exec(select(AuditEntry).where(AuditEntry.action == action)
                            .order_by(col(AuditEntry.id))).all())


def _seed(team: Team, count: int, *, action: str = "patient.view", days_ago: int = 0,
          detail: str = "") -> None:
    at = utcnow() - timedelta(days=days_ago)
    with session() as db:
        db.connection().execute(insert(AuditEntry), [
            {"at": at - timedelta(seconds=n), "actor": f"member:{team.clinician.id}",
             "action": action, "patient_id": team.patient_id, "team_id": team.id,
             "detail": detail or f"seeded {n}"} for n in range(count)])


def test_entries_name_the_member_not_their_id(client: TestClient,
                                              teams: tuple[Team, Team]) -> None:
    north, _ = teams
    _seed(north, 1)
    login(client, north.admin.email)
    page = client.get("/audit").text
    assert "North Clinic clinician" in page
    assert f"member:{north.clinician.id}" not in page
    # The patient by name with a second identifier, as everywhere a name is shown.
    assert f'<a href="/patients/{north.patient_id}">Patient of North Clinic</a>' in page
    assert "no date of birth" in page


def test_filters_narrow_the_log_and_pages_hold_fifty_newest_first(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    _seed(north, 120, action="doses.view")
    _seed(north, 3, action="doses.view", days_ago=10, detail="old one")
    login(client, north.admin.email)
    first = client.get("/audit", params={"action": "doses.view",
                                         "member": north.clinician.id}).text
    assert "123 entries matching" in first and "Page 1 of 3" in first
    assert first.count("<td>doses.view</td>") == 50
    assert "seeded 0<" in first and "old one" not in first   # newest first
    last = client.get("/audit", params={"action": "doses.view", "page": 3}).text
    assert last.count("<td>doses.view</td>") == 23 and "old one" in last
    day = (utcnow() - timedelta(days=10)).date().isoformat()
    dated = client.get("/audit", params={"date_from": day, "date_to": day}).text
    assert "3 entries matching" in dated
    nobody = client.get("/audit", params={"member": north.admin.id,
                                          "action": "doses.view"}).text
    assert "No entries match these filters" in nobody


def test_a_bad_date_is_shown_at_its_field_and_kept(client: TestClient,
                                                   teams: tuple[Team, Team]) -> None:
    login(client, teams[0].admin.email)
    page = client.get("/audit", params={"date_from": "13/03/2027"})
    assert page.status_code == 200
    assert 'value="13/03/2027" aria-invalid="true"' in page.text
    assert '<a href="#f-from">date from: a date such as 2027-03-13</a>' in page.text


def test_the_csv_is_the_filtered_set_and_formulas_are_inert(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    _seed(north, 60, action="doses.view")
    _seed(north, 1, action="reading.add", detail="=HYPERLINK(\"http://evil\")")
    _seed(south, 2, action="doses.view")
    login(client, north.admin.email)
    answer = client.get("/audit.csv", params={"action": "doses.view"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][4] == "action" and len(rows) == 61      # all 60, not one page of 50
    assert {row[4] for row in rows[1:]} == {"doses.view"}
    assert {row[3] for row in rows[1:]} == {"North Clinic clinician"}
    everything = client.get("/audit.csv").text
    assert "'=HYPERLINK" in everything and "\n=HYPERLINK" not in everything
    assert "South" not in everything


def test_safe_cell_defuses_every_formula_start() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("patient.view") == "patient.view" and safe_cell(None) == ""


def test_reading_the_log_is_logged_once(client: TestClient, teams: tuple[Team, Team]) -> None:
    login(client, teams[0].admin.email)
    client.get("/audit", params={"action": "patient.view"})
    client.get("/audit.csv")
    assert [e.detail for e in _entries("audit.view")] == ["action=patient.view"]
    assert len(_entries("audit.export")) == 1


def test_a_list_view_is_one_entry_naming_the_patients_shown(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    with session() as db:
        for kind in (AlertKind.missed_doses, AlertKind.symptom):
            db.add(Alert(patient_id=north.patient_id, team_id=north.id, kind=kind,
                         severity=AlertSeverity.high,
                         summary="seeded"))
    login(client, north.clinician.email)   # which shows the patients list once
    client.get("/alerts")
    client.get("/api/v1/patients", headers=north.clinician.headers)
    views = _entries("patients.list")
    assert [e.detail for e in views] == [f"1 patient: {north.patient_id}"] * 2
    assert all(e.patient_id is None for e in views)
    assert [e.detail for e in _entries("alerts.list")] == [f"1 patient: {north.patient_id}"]


def test_a_long_list_is_cut_to_the_column_saying_how_many() -> None:
    detail = audit.list_detail(list(range(1000, 3000)))
    assert len(detail) <= audit.DETAIL_CHARS
    assert detail.startswith("2000 patients: 1000,1001,") and detail.endswith(",…")
    assert audit.list_detail([]) == "0 patients"


def test_the_alert_burden_is_one_entry_naming_its_patients(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    with session() as db:
        db.add(Alert(patient_id=north.patient_id, team_id=north.id, kind=AlertKind.symptom,
                     severity=AlertSeverity.high, summary="seeded"))
    login(client, north.admin.email)
    client.get("/settings")
    client.get("/api/v1/team/alert-burden", headers=north.admin.headers)
    assert [e.detail for e in _entries("alerts.burden")] == [
        f"1 patient: {north.patient_id}"] * 2
