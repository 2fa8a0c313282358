"""Alarm fatigue in the console and the API: the escalation ladder's settings (minutes and
the on-call list), its steps on the alert cards and in `GET /api/v1/alerts`, a member
linking their own chat from the account page, resolving with one click as useful or not,
and the alert burden on the team page and in `GET /api/v1/team/alert-burden`."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from assistant.services import alerts, escalation, member_chats
from assistant.storage.db import session, utcnow
from assistant.storage.models import Alert, AlertKind, AlertSeverity, MemberChat, Patient
from tests.web.conftest import Team, login


def _urgent(team: Team, minutes_ago: int = 20) -> int:
    with session() as db:
        patient = db.get(Patient, team.patient_id)
        assert patient is not None
        alert = alerts.raise_alert(db, patient=patient, kind=AlertKind.emergency,
                                   severity=AlertSeverity.urgent, summary="Chest pain.")
        assert alert is not None
        alert.created_at = utcnow() - timedelta(minutes=minutes_ago)
        db.flush()
        return alert.id


def test_the_team_sets_the_minutes_and_the_on_call_list(client: TestClient,
                                                         teams: tuple[Team, Team]) -> None:
    north, south = teams
    admin, clinician = north.admin.headers, north.clinician.headers
    assert client.get("/api/v1/team", headers=admin).json()["escalate_after_minutes"] == 15
    for bad in (0, 1441, "ten"):
        answer = client.patch("/api/v1/team", headers=admin, json={"escalate_after_minutes": bad})
        assert answer.status_code == 422 and "escalate_after_minutes" in answer.text
    assert client.patch("/api/v1/team", headers=admin,
                        json={"escalate_after_minutes": 10}).json()["escalate_after_minutes"] == 10
    order = [north.clinician.id, north.admin.id]
    assert client.put("/api/v1/team/on-call", headers=clinician,
                      json={"member_ids": order}).status_code == 403
    for bad in ([south.admin.id], [north.admin.id, north.admin.id], [0], ["x"], 5):
        answer = client.put("/api/v1/team/on-call", headers=admin, json={"member_ids": bad})
        assert answer.status_code == 422 and "member_ids" in answer.text, (bad, answer.text)
    answer = client.put("/api/v1/team/on-call", headers=admin, json={"member_ids": order})
    assert answer.status_code == 200, answer.text
    assert [m["member_id"] for m in client.get("/api/v1/team/on-call", headers=clinician)
            .json()] == order
    assert client.get("/api/v1/team/on-call", headers=south.admin.headers).json() == []
    # The console's form: each member's place, blank for off call.
    csrf = login(client, north.admin.email)
    page = client.get("/settings").text
    assert 'name="escalate_after_minutes"' in page and f'name="place_{north.admin.id}"' in page
    saved = client.post("/settings/on-call", data={
        "csrf": csrf, f"place_{north.admin.id}": "1", f"place_{north.clinician.id}": ""})
    assert saved.status_code in (200, 303)
    assert [m["member_id"] for m in client.get("/api/v1/team/on-call", headers=admin)
            .json()] == [north.admin.id]


def test_escalation_steps_show_on_the_alert_card_and_in_the_api(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    with session() as db:
        db.add(MemberChat(member_id=north.clinician.id, chat_id="777"))
    client.put("/api/v1/team/on-call", headers=north.admin.headers,
               json={"member_ids": [north.clinician.id]})
    alert_id = _urgent(north)
    with session() as db:
        assert escalation.check_escalations(db) == 1
    [shown] = [a for a in client.get("/api/v1/alerts", headers=north.admin.headers).json()
               if a["id"] == alert_id]
    [step] = shown["escalations"]
    assert step["member_id"] == north.clinician.id and step["name"] == "North Clinic clinician"
    login(client, north.admin.email)
    page = client.get("/alerts").text
    card = page[page.index(f'id="alert-{alert_id}"'):]
    assert re.search(r"Escalated to North Clinic clinician at "
                     r"<time[^>]+>\w{3} \d+ \w{3} \d\d:\d\d</time>", card)


def test_a_member_gets_a_code_for_their_chat_on_the_account_page(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    assert "No Telegram chat linked" in client.get("/tokens").text
    page = client.post("/account/chat", data={"csrf": csrf}).text
    found = re.search(r'data-testid="chat-code">/start ([A-Z0-9]+)<', page)
    assert found, page
    with session() as db:
        member = member_chats.redeem(db, code=found.group(1), channel="telegram", chat_id="88")
        assert member is not None and member.id == north.clinician.id
    assert "Your Telegram chat is linked" in client.get("/tokens").text
    client.post("/account/chat/unlink", data={"csrf": csrf})
    assert "No Telegram chat linked" in client.get("/tokens").text


def test_resolving_in_one_click_says_whether_the_alert_was_useful(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    first, second = _urgent(north), _urgent(north)
    csrf = login(client, north.clinician.email)
    page = client.get("/alerts").text
    assert re.search(r'value="resolve_useful"[^>]*>Resolve — useful</button>', page)
    assert re.search(r'value="resolve_not_useful"[^>]*>Resolve — not useful</button>', page)
    client.post(f"/alerts/{first}", data={"csrf": csrf, "action": "resolve_useful",
                                          "note": "called, sent to A&E"})
    client.post(f"/alerts/{second}", data={"csrf": csrf, "action": "resolve_not_useful",
                                           "note": "false alarm"})
    with session() as db:
        one, two = db.get(Alert, first), db.get(Alert, second)
        assert one is not None and two is not None
        assert (one.status, one.useful, two.status, two.useful) == (
            "resolved", True, "resolved", False)
        # An alert resolved without saying (the all clear does so) offers the pair.
        alerts.clear_monitoring(db, db.get(Alert, _urgent(north)) or one, note="all clear")
    page = client.get("/alerts?status=resolved").text
    assert re.search(r'value="mark_useful"[^>]*>Useful</button>', page)
    assert "Marked not useful." in page


def test_the_alert_burden_is_on_the_team_page_and_in_the_api(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    first, _ = _urgent(north), _urgent(north)
    csrf = login(client, north.admin.email)
    client.post(f"/alerts/{first}", data={"csrf": csrf, "action": "resolve_useful",
                                          "note": "ok"})
    answer = client.get("/api/v1/team/alert-burden", headers=north.clinician.headers).json()
    assert answer["team"]["alerts"] == 2 and answer["team"]["resolved"] == 1
    assert answer["team"]["useful_share"] == 1.0 and answer["team"]["monitoring_alerts"] == 0
    assert answer["team"]["patient_weeks"] == round(1 / 7, 2)  # a new patient counts a day
    [row] = answer["patients"]
    assert row["patient_id"] == north.patient_id and row["alerts"] == 2
    assert client.get("/api/v1/team/alert-burden",
                      headers=south.admin.headers).json()["patients"] == []
    page = client.get("/settings").text
    table = page[page.index('data-testid="alert-burden"'):]
    assert "Patient of North Clinic" in table and "100% (1 of 1)" in table
