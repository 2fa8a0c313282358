"""A member sees and changes only their own team's patients: every route that names a
patient, medication, alert, advice item, member or token answers 404 to another team,
exactly as if it did not exist, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.interfaces.web import api, pages
from assistant.services import enrolment
from assistant.storage.db import session
from assistant.storage.models import AdviceItem, Alert, AlertKind, ApiToken, AuditEntry, Patient
from tests.web.conftest import Team, login

SCHEDULE = {"times": ["09:00"]}
# A valid body for each route that takes one, so that only the team check can refuse it.
API_BODIES: dict[str, Any] = {
    "PATCH /api/v1/patients/{patient_id}": {"goals": ["sleep"]},
    "POST /api/v1/patients/{patient_id}/enrolment-codes": {"hours": 1},
    "POST /api/v1/patients/{patient_id}/messages": {"text": "hello"},
    "PUT /api/v1/patients/{patient_id}/targets": {"targets": [
        {"measure": "spo2", "value": {"warning_low": 90}}]},
    "POST /api/v1/patients/{patient_id}/medications": {"name": "X", "schedule": SCHEDULE},
    "POST /api/v1/patients/{patient_id}/medications/fhir": {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "subject": {"reference": "Patient/1"}, "medicationCodeableConcept": {"text": "X"},
        "dosageInstruction": [{"timing": {"repeat": {"timeOfDay": ["09:00:00"]}}}]},
    "PATCH /api/v1/patients/{patient_id}/medications/{medication_id}": {"dose": "2 tablets"},
    "PUT /api/v1/patients/{patient_id}/medications/{medication_id}/schedule": SCHEDULE,
    "POST /api/v1/patients/{patient_id}/readings": {"kind": "pulse", "value": 70},
    "POST /api/v1/patients/{patient_id}/readings/batch": {
        "readings": [{"kind": "pulse", "value": 70}]},
    "PATCH /api/v1/alerts/{alert_id}": {"status": "acknowledged"},
    "POST /api/v1/alerts/{alert_id}/snooze": {"minutes": 60},
    "PUT /api/v1/advice/{advice_id}": {"title": "T", "body": "B"},
    "PUT /api/v1/advice/{advice_id}/translations/{language}": {"title": "T", "body": "B"},
    "POST /api/v1/patients/{patient_id}/medications/{medication_id}/stop": {
        "reason": "side effects"},
}
API_QUERIES = {  # a stop says why, in the query of the DELETE alias
    "DELETE /api/v1/patients/{patient_id}/medications/{medication_id}": "?reason=side+effects"}
PAGE_FORMS: dict[str, dict[str, Any]] = {
    "POST /patients/{patient_id}/profile": {"display_name": "Z", "timezone": "UTC",
                                            "language": "en"},
    "POST /patients/{patient_id}/medications": {"name": "X", "times": "09:00"},
    "POST /patients/{patient_id}/medications/{medication_id}/schedule": {"times": "09:00"},
    "POST /patients/{patient_id}/medications/{medication_id}/label": {"name": "X",
                                                                       "dose": "1 tablet"},
    "POST /patients/{patient_id}/reply": {"text": "hello"},
    "POST /patients/{patient_id}/erase": {"confirm": "Patient of North Clinic"},
    "POST /alerts/{alert_id}": {"action": "acknowledge"},
    "POST /alerts/{alert_id}/snooze": {"minutes": "60"},
    "POST /alerts/{alert_id}/reply": {"text": "hello"},
    "POST /advice/{advice_id}/translation": {"language": "es", "title": "T", "body": "B"},
}
IDS = ("patient_id", "medication_id", "alert_id", "advice_id", "member_id", "token_id")


def _owned(north: Team) -> dict[str, int | str]:
    """One object of each kind belonging to the north team."""
    with session() as db:
        # a monitoring alert, so that every alert route (snooze too) applies to it
        alert = Alert(patient_id=north.patient_id, team_id=north.id, kind=AlertKind.reading,
                      summary="Reading out of range: systolic 170 above 160 mmHg",
                      measure="blood_pressure", direction="high")
        advice = AdviceItem(team_id=north.id, title="Walk", body="Ten minutes.")
        db.add_all([alert, advice])
        db.flush()
        token = db.exec(select(ApiToken).where(ApiToken.member_id == north.admin.id)).one()
        patient = db.get(Patient, north.patient_id)
        code = enrolment.issue_code(db, patient=patient, actor="test", hours=1).code
        enrolment.redeem_code(db, code=code, channel="telegram", chat_id="777")
        return {"patient_id": north.patient_id, "medication_id": north.medication_id,
                "alert_id": alert.id, "advice_id": advice.id, "member_id": north.clinician.id,
                "token_id": token.id, "language": "es"}


def _scoped_routes(prefix_api: bool) -> list[tuple[str, str]]:
    found = []
    for route in [*api.router.routes, *pages.router.routes]:
        if not isinstance(route, APIRoute) or route.path.startswith("/api/") != prefix_api:
            continue
        if any(f"{{{name}}}" in route.path for name in IDS):
            found += [(method, route.path) for method in sorted(route.methods)]
    return found


def _snapshot() -> list[tuple[str, int | None]]:
    """What changed: the audit log records every change (and every read)."""
    with session() as db:
        return [(e.action, e.patient_id) for e in db.exec(select(AuditEntry)).all()]


@pytest.mark.parametrize(("method", "path"), _scoped_routes(prefix_api=True))
def test_api_routes_answer_404_to_another_team(client: TestClient, teams: tuple[Team, Team],
                                               method: str, path: str) -> None:
    north, south = teams
    key = f"{method} {path}"
    url = path.format(**_owned(north)) + API_QUERIES.get(key, "")
    before = _snapshot()
    answer = client.request(method, url, headers=south.admin.headers, json=API_BODIES.get(key))
    assert answer.status_code == 404, f"{key}: {answer.status_code} {answer.text[:200]}"
    assert [e for e in _snapshot() if e not in before] == []
    # ... while the same request of the owning team is not refused
    own = client.request(method, url, headers=north.admin.headers, json=API_BODIES.get(key))
    assert own.status_code < 400, f"{key}: {own.status_code} {own.text[:300]}"


@pytest.mark.parametrize(("method", "path"), _scoped_routes(prefix_api=False))
def test_console_pages_answer_404_to_another_team(client: TestClient, teams: tuple[Team, Team],
                                                  method: str, path: str) -> None:
    north, south = teams
    url = path.format(**_owned(north))
    csrf = login(client, south.admin.email)
    before = _snapshot()
    form = {**PAGE_FORMS.get(f"{method} {path}", {}), "csrf": csrf}
    answer = client.request(method, url, data=form if method == "POST" else None,
                            follow_redirects=False)
    assert answer.status_code == 404, f"{method} {path}: {answer.status_code}"
    assert [e for e in _snapshot() if e not in before] == []
    assert "Patient of North Clinic" not in answer.text


def test_an_erased_patients_id_and_audit_trail_pass_to_no_one(client: TestClient,
                                                               teams: tuple[Team, Team]) -> None:
    """The erased patient's id is never given again, and a new patient of another team
    inherits none of their audit entries: not in the API's audit log, the console's audit
    page and CSV, nor the new patient's export."""
    north, south = teams
    made = client.post("/api/v1/patients", headers=north.admin.headers,
                       json={"display_name": "Erased Ernie"})
    old_id = made.json()["id"]
    client.get(f"/api/v1/patients/{old_id}", headers=north.admin.headers)
    assert client.delete(f"/api/v1/patients/{old_id}", headers=north.admin.headers
                         ).status_code == 204

    new = client.post("/api/v1/patients", headers=south.admin.headers,
                      json={"display_name": "New Nora"}).json()
    assert new["id"] > old_id
    exported = client.get(f"/api/v1/patients/{new['id']}/export",
                          headers=south.admin.headers).json()
    assert [e["action"] for e in exported["who accessed or changed your data"]] == [
        "patient.add"]
    for entry in client.get("/api/v1/audit", headers=south.admin.headers).json():
        assert entry["patient_id"] != old_id and entry["action"] != "patient.erase", entry
    login(client, south.admin.email)
    for page in (client.get("/audit").text, client.get("/audit?format=csv").text,
                 client.get(f"/audit?patient_id={old_id}").text):
        assert "patient.erase" not in page
    # The team that erased the patient still sees that it did.
    erased = client.get(f"/api/v1/audit?patient_id={old_id}", headers=north.admin.headers)
    assert [e["action"] for e in erased.json()] == ["patient.erase"]
