"""The REST API, route by route, through a member's API token."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.services import enrolment
from assistant.storage.db import session
from assistant.storage.models import Alert, AlertKind, AuditEntry, DoseSchedule, OutboxMessage
from tests.web.conftest import Team, login

FHIR_R4 = {
    "resourceType": "MedicationRequest", "status": "active", "intent": "order",
    "subject": {"reference": "Patient/1"},
    "medicationCodeableConcept": {"text": "Lisinopril 10 mg tablet"},
    "dosageInstruction": [{
        "patientInstruction": "in the morning",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d",
                              "timeOfDay": ["07:30:00"]}},
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}],
}


def _audit(patient_id: int) -> list[str]:
    with session() as db:
        return [e.action for e in db.exec(select(AuditEntry).where(
            AuditEntry.patient_id == patient_id)).all()]


def test_no_token_or_a_wrong_one_gets_401(client: TestClient) -> None:
    assert client.get("/api/v1/patients").status_code == 401
    wrong = client.get("/api/v1/patients", headers={"Authorization": "Bearer cl_nope"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_patients_list_create_read_update(client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h = north.clinician.headers
    listed = client.get("/api/v1/patients", headers=h).json()
    assert [p["display_name"] for p in listed] == ["Patient of North Clinic"]
    made = client.post("/api/v1/patients", headers=h, json={
        "display_name": "Ada", "timezone": "America/New_York", "conditions": ["diabetes"]})
    assert made.status_code == 201, made.text
    ada = made.json()
    assert ada["chat"] == "not linked" and ada["timezone"] == "America/New_York"
    changed = client.patch(f"/api/v1/patients/{ada['id']}", headers=h,
                           json={"quiet_start": "22:00", "quiet_end": "7:00", "goals": ["walk"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["quiet_end"] == "07:00" and changed.json()["goals"] == ["walk"]
    assert client.get(f"/api/v1/patients/{ada['id']}", headers=h).json()["goals"] == ["walk"]
    assert {"patient.add", "patient.update", "patient.view"} <= set(_audit(ada["id"]))


@pytest.mark.parametrize(("body", "field"), [
    ({"display_name": ""}, "display_name"),
    ({"display_name": "A", "timezone": "Mars/Olympus"}, "timezone"),
    ({"display_name": "A", "timezone": "GB"}, "timezone"),
    ({"display_name": "A", "timezone": "GMT"}, "timezone"),
    ({"display_name": "A", "colour": "red"}, "colour"),
])
def test_bad_patients_are_422_naming_the_field(client: TestClient, teams: tuple[Team, Team],
                                               body: dict[str, Any], field: str) -> None:
    answer = client.post("/api/v1/patients", headers=teams[0].clinician.headers, json=body)
    assert answer.status_code == 422
    assert field in answer.json()["detail"][0]["loc"]
    assert len(client.get("/api/v1/patients", headers=teams[0].clinician.headers).json()) == 1


def test_a_zone_is_a_place_or_utc_and_an_old_name_gets_the_place_suggested(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    h = teams[0].clinician.headers
    for name, place in (("GB", "Europe/London"), ("US/Eastern", "America/New_York"),
                        ("GMT", "Europe/London"), ("Etc/UTC", "UTC")):
        answer = client.post("/api/v1/patients", headers=h,
                             json={"display_name": "Ada", "timezone": name})
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["detail"]
        assert error["loc"] == ["body", "timezone"] and f"did you mean {place!r}" in error["msg"]
    moved = client.patch(f"/api/v1/patients/{teams[0].patient_id}", headers=h,
                         json={"timezone": "Europe/Kiev"})
    assert moved.status_code == 422 and "'Europe/Kyiv'" in moved.text
    for name in ("UTC", "Europe/Kyiv", "Europe/Amsterdam"):
        made = client.post("/api/v1/patients", headers=h,
                           json={"display_name": "Ada", "timezone": name})
        assert made.status_code == 201 and made.json()["timezone"] == name


def test_medications_schedules_and_weekly_view(client: TestClient,
                                               teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h, base = north.clinician.headers, f"/api/v1/patients/{north.patient_id}"
    made = client.post(f"{base}/medications", headers=h, json={
        "name": "Atorvastatin", "strength": "20 mg", "instructions": "at night",
        "schedule": {"times": ["21:00"], "days": ["mon", "wed", "fri"]}})
    assert made.status_code == 201, made.text
    med = made.json()
    assert med["schedule"]["days"] == ["mon", "wed", "fri"]
    week = client.get(f"{base}/week", headers=h).json()
    atorva = next(m for m in week["medications"] if m["label"] == "Atorvastatin 20 mg")
    assert sum(len(times) for times in atorva["times"]) == 3  # three weekdays of seven
    metformin = next(m for m in week["medications"] if m["label"] == "Metformin 500 mg")
    assert all(times == ["08:00", "20:00"] for times in metformin["times"])

    again = client.put(f"{base}/medications/{med['id']}/schedule", headers=h,
                       json={"times": ["22:00"]})
    assert again.json()["schedule"]["times"] == ["22:00"]
    assert again.json()["schedule"]["days"] is None
    renamed = client.patch(f"{base}/medications/{med['id']}", headers=h,
                           json={"instructions": "with water"})
    assert renamed.json()["instructions"] == "with water"
    # A stop says why (POST …/stop with {"reason"}; DELETE keeps working with ?reason=).
    assert client.delete(f"{base}/medications/{med['id']}", headers=h).status_code == 422
    assert client.delete(f"{base}/medications/{med['id']}?reason=completed course",
                         headers=h).status_code == 204
    names = [m["name"] for m in client.get(f"{base}/medications", headers=h).json()]
    assert names == ["Metformin"]
    stopped = client.get(f"{base}/medications?include_stopped=true", headers=h).json()
    assert {m["name"]: m["active"] for m in stopped} == {"Atorvastatin": False, "Metformin": True}


IF_MISSED = "Take it when you remember, unless the next dose is due within 4 hours."


def test_missed_dose_instructions_are_part_of_the_label(client: TestClient,
                                                        teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h, base = north.clinician.headers, f"/api/v1/patients/{north.patient_id}/medications"
    made = client.post(base, headers=h, json={"name": "Ramipril", "missed_dose_instructions":
                                              IF_MISSED, "schedule": {"times": ["08:00"]}})
    assert made.status_code == 201, made.text
    assert made.json()["missed_dose_instructions"] == IF_MISSED
    listed = {m["name"]: m["missed_dose_instructions"]
              for m in client.get(base, headers=h).json()}
    assert listed == {"Metformin": "", "Ramipril": IF_MISSED}
    changed = client.patch(f"{base}/{north.medication_id}", headers=h,
                           json={"missed_dose_instructions": "Skip it; take the next one."})
    assert changed.json()["missed_dose_instructions"] == "Skip it; take the next one."
    too_long = client.patch(f"{base}/{north.medication_id}", headers=h,
                            json={"missed_dose_instructions": "x" * 501})
    assert too_long.status_code == 422
    assert "missed_dose_instructions" in too_long.json()["detail"][0]["loc"]
    kept = client.get(base, headers=h).json()[0]
    assert kept["missed_dose_instructions"] == "Skip it; take the next one."


@pytest.mark.parametrize(("schedule", "field"), [
    ({"times": ["25:00"]}, "times"),
    ({"times": ["08:00"], "days": []}, "days"),
    ({"times": ["08:00"], "start_date": "2027-03-10", "end_date": "2027-03-01"}, "schedule"),
    ({"times": []}, "schedule"),
    ({"times": ["08:00"], "days": ["funday"]}, "days"),
])
def test_a_bad_schedule_is_refused_and_nothing_is_written(
        client: TestClient, teams: tuple[Team, Team], schedule: dict[str, Any],
        field: str) -> None:
    north, _ = teams
    base = f"/api/v1/patients/{north.patient_id}"
    answer = client.post(f"{base}/medications", headers=north.clinician.headers,
                         json={"name": "Aspirin", "schedule": schedule})
    assert answer.status_code == 422, answer.text
    assert any(field in str(item["loc"]) for item in answer.json()["detail"])
    assert [m["name"] for m in client.get(f"{base}/medications",
                                          headers=north.clinician.headers).json()] == ["Metformin"]


def test_fhir_import_and_its_refusal(client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    base = f"/api/v1/patients/{north.patient_id}/medications"
    made = client.post(f"{base}/fhir", headers=north.clinician.headers, json=FHIR_R4)
    assert made.status_code == 201, made.text
    assert made.json()["schedule"]["times"] == ["07:30"]
    assert made.json()["instructions"] == "in the morning"
    hourly = {**FHIR_R4, "dosageInstruction": [{"timing": {"repeat": {
        "frequency": 1, "period": 4, "periodUnit": "h"}}}]}
    refused = client.post(f"{base}/fhir", headers=north.clinician.headers, json=hourly)
    assert refused.status_code == 422
    assert "periodUnit" in refused.json()["detail"][0]["msg"]


def test_dose_history_and_adherence(client: TestClient, teams: tuple[Team, Team]) -> None:
    from datetime import timedelta

    from assistant.storage.db import utcnow
    from assistant.storage.models import DoseOccurrence, DoseStatus

    north, _ = teams
    with session() as db:
        schedule = db.exec(select(DoseSchedule).where(
            DoseSchedule.medication_id == north.medication_id)).one()
        for days_ago, status in ((1, DoseStatus.taken), (2, DoseStatus.missed)):
            db.add(DoseOccurrence(schedule_id=schedule.id, medication_id=north.medication_id,
                                  patient_id=north.patient_id, status=status,
                                  due_at=utcnow() - timedelta(days=days_ago)))
    base = f"/api/v1/patients/{north.patient_id}"
    history = client.get(f"{base}/doses", headers=north.clinician.headers).json()
    assert [d["status"] for d in history] == ["taken", "missed"]
    assert history[0]["medication"] == "Metformin 500 mg"
    adherence = client.get(f"{base}/adherence", headers=north.clinician.headers).json()
    assert adherence["last_7_days"] == 50
    assert sum(d["answered"] for d in adherence["daily"]) == 2


def test_readings_one_and_a_batch_all_or_nothing(client: TestClient,
                                                 teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h, base = north.admin.headers, f"/api/v1/patients/{north.patient_id}/readings"
    client.patch("/api/v1/team", headers=h,
                 json={"reading_thresholds": {"systolic": {"high": 140}}})
    one = client.post(base, headers=h, json={"kind": "blood_pressure", "value": 150,
                                             "value2": 90, "source": "cuff"})
    assert one.status_code == 201, one.text
    with session() as db:
        alert = db.exec(select(Alert).where(Alert.kind == AlertKind.reading)).one()
    assert "systolic 150 above 140" in alert.summary
    batch = client.post(f"{base}/batch", headers=h, json={"readings": [
        {"kind": "weight", "value": 80, "taken_at": "2026-01-01T08:00:00+01:00"},
        {"kind": "pulse", "value": 900}]})
    assert batch.status_code == 422
    assert batch.json()["detail"][0]["loc"] == ["body", "readings", 1, "value"]  # as FastAPI says
    assert len(client.get(base, headers=h).json()) == 1  # the batch stored nothing
    naive = client.post(base, headers=h, json={"kind": "weight", "value": 80,
                                               "taken_at": "2026-01-01T08:00:00"})
    assert naive.status_code == 422
    good = client.post(f"{base}/batch", headers=h, json={"readings": [
        {"kind": "weight", "value": 80.5, "taken_at": "2026-01-01T08:00:00+01:00"},
        {"kind": "glucose", "value": 6.1, "source": "sensor"}]})
    assert good.status_code == 201 and len(client.get(base, headers=h).json()) == 3


def test_alerts_acknowledge_assign_resolve_and_reply(client: TestClient,
                                                     teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h = north.clinician.headers
    with session() as db:
        alert = Alert(patient_id=north.patient_id, team_id=north.id, kind=AlertKind.symptom,
                      summary="dizzy in the mornings")
        db.add(alert)
        db.flush()
        alert_id = alert.id
    assert [a["id"] for a in client.get("/api/v1/alerts?status=open", headers=h).json()] == [
        alert_id]
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=h).json()["summary"] == (
        "dizzy in the mornings")
    acked = client.patch(f"/api/v1/alerts/{alert_id}", headers=h,
                         json={"status": "acknowledged", "assigned_to": north.admin.id})
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["assigned_to"] == north.admin.id
    no_note = client.patch(f"/api/v1/alerts/{alert_id}", headers=h, json={"status": "resolved"})
    assert no_note.status_code == 422 and no_note.json()["detail"][0]["loc"] == ["body", "note"]
    done = client.patch(f"/api/v1/alerts/{alert_id}", headers=h,
                        json={"status": "resolved", "note": "called, BP meds adjusted"})
    assert done.json()["resolved_at"] is not None

    base = f"/api/v1/patients/{north.patient_id}"
    unlinked = client.post(f"{base}/messages", headers=h, json={"text": "Call us please"})
    assert unlinked.status_code == 422  # no chat linked yet: nothing queued
    with session() as db:
        code = enrolment.issue_code(db, patient=db.get(enrolment.Patient, north.patient_id),
                                    actor="test", hours=1)
        enrolment.redeem_code(db, code=code.code, channel="telegram", chat_id="4242")
    queued = client.post(f"{base}/messages", headers=h, json={"text": "Call us please"})
    assert queued.status_code == 202
    with session() as db:
        message = db.get(OutboxMessage, queued.json()["outbox_id"])
        assert message is not None and "Call us please" in message.text


def test_enrolment_codes_advice_team_and_audit(client: TestClient,
                                               teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h = north.clinician.headers
    issued = client.post(f"/api/v1/patients/{north.patient_id}/enrolment-codes", headers=h,
                         json={"hours": 24})
    assert issued.status_code == 201
    assert issued.json()["link"].endswith(f"?start={issued.json()['code']}")
    with session() as db:
        assert enrolment.check_code(db, code=issued.json()["code"], chat_id="1").id == (
            north.patient_id)

    added = client.post("/api/v1/advice", headers=h, json={
        "title": "Walk after dinner", "body": "Ten minutes is enough.", "tags": ["Diabetes"]})
    assert added.status_code == 201 and added.json()["tags"] == ["diabetes"]
    client.put(f"/api/v1/advice/{added.json()['id']}", headers=h,
               json={"title": "Walk", "body": "Ten minutes.", "active": False})
    assert [(a["title"], a["active"]) for a in client.get("/api/v1/advice", headers=h).json()] == [
        ("Walk", False)]

    assert client.get("/api/v1/team", headers=h).json()["name"] == "North Clinic"
    assert client.patch("/api/v1/team", headers=h, json={"grace_minutes": 30}).status_code == 403
    admin = north.admin.headers
    changed = client.patch("/api/v1/team", headers=admin,
                           json={"grace_minutes": 30, "self_shift_minutes": 45}).json()
    assert (changed["grace_minutes"], changed["self_shift_minutes"]) == (30, 45)
    bad = client.patch("/api/v1/team", headers=admin,
                       json={"reading_thresholds": {"glucose": {"low": 9, "high": 4}}})
    assert bad.status_code == 422
    assert client.get("/api/v1/audit", headers=h).status_code == 403
    actions = {e["action"] for e in client.get("/api/v1/audit", headers=admin).json()}
    assert {"enrolment.issue", "advice.save", "team.update"} <= actions


def test_export_and_erasure(client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    base = f"/api/v1/patients/{north.patient_id}"
    exported = client.get(f"{base}/export", headers=north.clinician.headers).json()
    assert "Metformin" in str(exported)
    assert client.delete(base, headers=north.clinician.headers).status_code == 403
    assert client.delete(base, headers=north.admin.headers).status_code == 204
    assert client.get(base, headers=north.admin.headers).status_code == 404
    assert _audit(north.patient_id) == ["patient.erase"]


def test_team_settings_are_cleaned_alike_from_the_api_and_the_console(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    admin = north.admin.headers
    sent = {"emergency_number": "  112 ", "crisis_line": "Call\n 0800   123"}
    answer = client.patch("/api/v1/team", headers=admin, json=sent)
    assert answer.status_code == 200, answer.text
    from_api = {key: answer.json()[key] for key in sent}

    csrf = login(client, north.admin.email)
    saved = client.post("/settings", data={**sent, "csrf": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    from_console = {key: client.get("/api/v1/team", headers=admin).json()[key] for key in sent}

    assert from_api == from_console == {"emergency_number": "112", "crisis_line": "Call 0800 123"}
    blank = client.patch("/api/v1/team", headers=admin, json={"emergency_number": "  "})
    assert blank.status_code == 200 and blank.json()["emergency_number"] is None
