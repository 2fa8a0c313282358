"""The monitoring API: a patient's targets (in force and where from; set with levels
checked, 422 naming the field; a preset only when named, audited with who confirmed), and
monitoring alerts in `GET /api/v1/alerts` with their evidence, resolved as useful or not."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.services import views
from assistant.storage.db import session, utcnow
from assistant.storage.models import AlertSnooze, AuditEntry, ChatLink
from tests.observation_docs import blood_pressure, bundle
from tests.web.conftest import Team, login


def _by_measure(answer: dict[str, object]) -> dict[str, dict[str, object]]:
    found = answer["targets"]
    assert isinstance(found, list)
    return {t["measure"]: t for t in found}


def test_targets_fall_back_to_the_team_then_the_patient_sets_their_own(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    h, url = north.clinician.headers, f"/api/v1/patients/{north.patient_id}/targets"
    client.patch("/api/v1/team", headers=north.admin.headers,
                 json={"reading_thresholds": {"glucose": {"low": 4.5}}})
    shown = _by_measure(client.get(url, headers=h).json())
    assert shown["glucose"]["source"] == "team"
    assert shown["glucose"]["value"]["warning_low"] == 4.5          # type: ignore[index]
    assert shown["spo2"]["source"] == "default"
    put = client.put(url, headers=h, json={"targets": [
        {"measure": "spo2", "value": {"warning_low": 90, "urgent_low": 86},
         "persist_count": 3}]})
    assert put.status_code == 200, put.text
    shown = _by_measure(put.json())
    assert shown["spo2"]["source"] == "patient" and shown["spo2"]["persist_count"] == 3
    assert client.get(f"/api/v1/patients/{south.patient_id}/targets",
                      headers=h).status_code == 404                  # another team's


def test_bad_levels_are_refused_naming_the_field_and_change_nothing(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h, url = north.clinician.headers, f"/api/v1/patients/{north.patient_id}/targets"
    for levels, field in (({"warning_low": 100, "warning_high": 90}, "warning_high"),
                          ({"urgent_high": 150, "warning_high": 160}, "urgent_high"),
                          ({"urgent_low": 95, "warning_low": 90}, "warning_low")):
        bad = client.put(url, headers=h, json={"targets": [
            {"measure": "pulse", "value": {"warning_low": 40}},
            {"measure": "spo2", "value": levels}]})
        assert bad.status_code == 422, bad.text
        assert bad.json()["detail"][0]["loc"] == ["body", "targets", 1, "value", field]
    unknown = client.put(url, headers=h, json={"targets": [
        {"measure": "mood", "value": {}}]})
    assert unknown.json()["detail"][0]["loc"] == ["body", "targets", 0, "measure"]
    assert all(t["source"] != "patient" for t in client.get(url, headers=h).json()["targets"])


def test_a_preset_applies_only_when_named_and_who_confirmed_is_audited(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h, url = north.clinician.headers, f"/api/v1/patients/{north.patient_id}/targets"
    assert _by_measure(client.get(url, headers=h).json())["blood_pressure"]["preset"] is None
    put = client.put(url, headers=h, json={"preset": "hypertension"})
    assert put.status_code == 200, put.text
    bp = _by_measure(put.json())["blood_pressure"]
    assert (bp["preset"], bp["confirmed_by"], bp["persist_count"]) == (
        "hypertension", north.clinician.id, 4)
    assert client.put(url, headers=h, json={"preset": "vibes"}).json()["detail"][0]["loc"] == [
        "body", "preset"]
    with session() as db:
        entry = db.exec(select(AuditEntry).where(AuditEntry.action == "targets.set")).one()
    assert entry.actor == f"member:{north.clinician.id}"
    assert f"preset=hypertension confirmed_by={north.clinician.id}" in entry.detail


def test_alerts_show_their_evidence_and_resolving_says_if_useful(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h = north.clinician.headers
    taken = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    sent = client.post(f"/api/v1/patients/{north.patient_id}/observations", headers=h,
                       json=bundle("collection", blood_pressure(186, 100, taken.isoformat())))
    assert sent.status_code in (200, 201), sent.text
    [alert] = client.get("/api/v1/alerts", headers=h).json()
    assert {k: alert[k] for k in ("kind", "severity", "measure", "direction")} == {
        "kind": "reading", "severity": "urgent", "measure": "blood_pressure",
        "direction": "high"}
    assert alert["evidence_at"].startswith(taken.strftime("%Y-%m-%dT%H:%M:%S"))
    assert alert["summary"] == "Reading out of range: systolic 186 above 180 mmHg"
    assert alert["created_at"]
    acked = client.patch(f"/api/v1/alerts/{alert['id']}", headers=h,
                         json={"status": "acknowledged"}).json()
    assert acked["acknowledged_at"] is not None
    done = client.patch(f"/api/v1/alerts/{alert['id']}", headers=h,
                        json={"status": "resolved", "note": "called, cuff too small",
                              "useful": False}).json()
    assert (done["status"], done["useful"]) == ("resolved", False)


def test_a_warning_waiting_for_the_patient_shows_as_confirming_and_needs_no_action_yet(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h = north.clinician.headers
    with session() as db:
        db.add(ChatLink(patient_id=north.patient_id, chat_id="7001"))
    now = utcnow().replace(microsecond=0)
    sent = client.post(f"/api/v1/patients/{north.patient_id}/observations", headers=h,
                       json=bundle("collection",
                                   blood_pressure(165, 95, (now - timedelta(minutes=20))
                                                  .isoformat()),
                                   blood_pressure(168, 96, (now - timedelta(minutes=10))
                                                  .isoformat())))
    assert sent.status_code in (200, 201), sent.text
    [alert] = client.get("/api/v1/alerts", headers=h).json()
    assert (alert["status"], alert["severity"], alert["measure"]) == (
        "confirming", "high", "blood_pressure")
    assert [a["id"] for a in client.get("/api/v1/alerts?status=confirming",
                                        headers=h).json()] == [alert["id"]]
    assert client.get("/api/v1/alerts?status=open", headers=h).json() == []
    patient = client.get(f"/api/v1/patients/{north.patient_id}", headers=h).json()
    assert patient["open_alerts"] == 0
    refused = client.patch(f"/api/v1/alerts/{alert['id']}", headers=h,
                           json={"status": "confirming"})
    assert refused.status_code == 422 and "status" in refused.text
    login(client, north.clinician.email)
    assert f'data-alert="{alert["id"]}"' not in client.get("/alerts").text  # the open inbox
    waiting = client.get("/alerts?status=confirming").text
    assert f'data-alert="{alert["id"]}"' in waiting
    assert "waiting for the patient to re-measure" in waiting
    with session() as db:   # the patients list does not count it as needing action
        [row] = views.summaries(db, north.id)
        assert row.open_alerts == 0


def test_a_monitoring_alert_is_snoozed_for_a_chosen_time_checked_and_audited(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    h = north.clinician.headers
    taken = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    client.post(f"/api/v1/patients/{north.patient_id}/observations", headers=h,
                json=bundle("collection", blood_pressure(186, 100, taken.isoformat())))
    [alert] = client.get("/api/v1/alerts", headers=h).json()
    url = f"/api/v1/alerts/{alert['id']}/snooze"
    for minutes in (10, 1441, "soon"):
        bad = client.post(url, headers=h, json={"minutes": minutes})
        assert bad.status_code == 422, bad.text
        assert bad.json()["detail"][0]["loc"] == ["body", "minutes"]
    assert client.post(url, headers=south.clinician.headers,
                       json={"minutes": 60}).status_code == 404     # another team's
    before = utcnow()
    done = client.post(url, headers=h, json={"minutes": 240})
    assert done.status_code == 200, done.text
    held = done.json()
    assert (held["alert_id"], held["measure"], held["direction"]) == (
        alert["id"], "blood_pressure", "high")
    until = datetime.fromisoformat(held["until"])
    assert before + timedelta(minutes=239) < until < utcnow() + timedelta(minutes=241)
    with session() as db:
        entries = db.exec(select(AuditEntry).where(AuditEntry.action == "alert.snooze")).all()
    assert [e.detail for e in entries] == [f"alert {alert['id']} snoozed 240 min"]


def test_the_console_snoozes_a_monitoring_alert_from_its_card(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    taken = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    client.post(f"/api/v1/patients/{north.patient_id}/observations",
                headers=north.clinician.headers,
                json=bundle("collection", blood_pressure(186, 100, taken.isoformat())))
    [alert] = client.get("/api/v1/alerts", headers=north.clinician.headers).json()
    csrf = login(client, north.admin.email)
    page = client.get("/alerts").text
    assert f'action="/alerts/{alert["id"]}/snooze"' in page and '<option value="240">' in page
    done = client.post(f"/alerts/{alert['id']}/snooze", data={"minutes": "240", "csrf": csrf},
                       headers={"Referer": "http://127.0.0.1/alerts"}, follow_redirects=False)
    assert done.status_code == 303, done.text[:300]
    with session() as db:
        [held] = db.exec(select(AlertSnooze)).all()
    assert (held.alert_id, held.measure, held.direction) == (alert["id"], "blood_pressure",
                                                             "high")
    bad = client.post(f"/alerts/{alert['id']}/snooze", data={"minutes": "5", "csrf": csrf},
                      headers={"Referer": "http://127.0.0.1/alerts"}, follow_redirects=False)
    assert bad.status_code in (303, 422)
    with session() as db:
        assert len(db.exec(select(AlertSnooze)).all()) == 1
