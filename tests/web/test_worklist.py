"""The alerts worklist as a nurse works it on a ward of 150 patients and 300 alerts:
filters, paging, repeats collapsed with their count, the most pressing first, each
alert's history with names, every action back at the same filters and card, an assign
menu that does not guess, a reply only where a chat is linked; and the API's filters."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from assistant.services import alerts
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    CareTeam,
    ChatLink,
    Patient,
)
from tests.web.conftest import Team, login
from tests.web.ward import TWIN_NAME, Ward, seed_ward


@pytest.fixture
def ward(teams: tuple[Team, Team]) -> Ward:
    north, _ = teams
    return seed_ward(north.id, [north.admin.id, north.clinician.id])


def _patients(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-patient="(\d+)"', page)]


def _card(page: str, alert_id: int) -> str:
    start = page.index(f'id="alert-{alert_id}"')
    return page[start:page.index("</article>", start)]


def _alert(team: Team, *, kind: AlertKind = AlertKind.question, linked: bool = True,
           severity: AlertSeverity = AlertSeverity.normal, name: str = "Kofi Mensah",
           age_minutes: int = 0) -> int:
    with session() as db:
        patient = Patient(team_id=team.id, display_name=name, timezone="UTC")
        db.add(patient)
        db.flush()
        if linked:
            db.add(ChatLink(patient_id=patient.id, channel="console", chat_id=f"c{patient.id}"))
        alert = alerts.raise_alert(db, patient=patient, kind=kind, severity=severity,
                                   summary=f"{kind} of {name}")
        assert alert is not None
        alert.created_at = utcnow() - timedelta(minutes=age_minutes)
        return alert.id


def test_filters_page_the_ward_25_patients_at_a_time(client: TestClient, ward: Ward,
                                                     teams: tuple[Team, Team]) -> None:
    north, _ = teams
    login(client, north.clinician.email)
    first = client.get("/alerts").text
    summary = re.search(r"(\d+) alerts for (\d+) patients · page 1 of (\d+)", first)
    assert summary, first[:2000]
    assert int(summary.group(3)) == -(-int(summary.group(2)) // 25) > 1
    second = client.get("/alerts?page=2").text
    assert len(_patients(first)) == len(_patients(second)) == 25
    assert not set(_patients(first)) & set(_patients(second))
    assert 'href="/alerts?status=open&amp;page=2" rel="next"' in first
    questions = client.get("/alerts?kind=question&status=all").text
    kinds = re.findall(r'</span> <strong>([a-z ]+)', questions)
    assert kinds and set(kinds) == {"question"}
    urgent = client.get("/alerts?assignee=unassigned&severity=urgent").text
    cards = re.findall(r'<article class="worklist-alert".*?</article>', urgent, re.S)
    assert len(cards) >= len(set(ward.urgent_unassigned) & set(_ids(urgent))) > 0
    assert all('badge urgent' in c and "unassigned" in c for c in cards)
    mine = client.get("/alerts?assignee=me&status=all").text
    assert set(_ids(mine)) <= {a for a, m in ward.assigned.items() if m == north.clinician.id}
    assert "assigned to North Clinic clinician" in mine
    assert "assigned to North Clinic admin" not in mine
    # Three patients of one name: each with a date of birth (and a record number or not).
    twins = client.get(f"/alerts?status=all&patient={TWIN_NAME.replace(' ', '+')}").text
    assert sorted(_patients(twins)) == sorted(ward.twins)
    assert all(f"born {born}" in twins for born in ("1948-03-02", "1961-07-19", "1975-11-30"))
    assert _patients(client.get("/alerts?status=all&patient=RN10004").text) == [
        ward.patient_ids[4]]


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-alert="(\d+)"', page)]


def test_seven_repeats_are_one_card_and_resolve_together(
        client: TestClient, ward: Ward, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    page = client.get(f"/alerts?patient=%23{ward.repeated_patient}").text
    newest = max(ward.repeated)
    card = _card(page, newest)
    assert 'data-count="7"' in card and "×7" in card
    assert "Resolve all 7 — useful" in card
    assert not set(ward.repeated[:-1]) & set(_ids(page))
    answer = client.post(f"/alerts/{newest}", data={
        "csrf": csrf, "action": "resolve_useful", "note": "cuff too small, re-measured"},
        headers={"Referer": "http://127.0.0.1/alerts"}, follow_redirects=False)
    assert answer.headers["location"] == f"/alerts#alert-{newest}"
    with session() as db:
        done = [db.get(Alert, i) for i in ward.repeated]
        assert {(a.status, a.useful) for a in done if a} == {(AlertStatus.resolved, True)}
    shown = client.get("/alerts").text
    assert "Alert resolved (useful) (all 7)." in shown, re.findall(r"class=.flash[^<]*", shown)


def test_the_most_pressing_patient_comes_first(client: TestClient,
                                              teams: tuple[Team, Team]) -> None:
    north, _ = teams
    normal = _alert(north, kind=AlertKind.refill, name="Old Refill", age_minutes=600)
    question = _alert(north, name="Asks Question", age_minutes=30)
    high = _alert(north, kind=AlertKind.missed_doses, severity=AlertSeverity.high,
                  name="Missed Doses", age_minutes=60)
    acked = _alert(north, kind=AlertKind.emergency, severity=AlertSeverity.urgent,
                   name="Urgent Seen", age_minutes=120)
    fresh = _alert(north, kind=AlertKind.emergency, severity=AlertSeverity.urgent,
                   name="Urgent New", age_minutes=1)
    csrf = login(client, north.clinician.email)
    client.post(f"/alerts/{acked}", data={"csrf": csrf, "action": "acknowledge"})
    page = client.get("/alerts?status=all").text
    order = [i for i in _ids(page) if i in (normal, question, high, acked, fresh)]
    # urgent (open, then acknowledged); a warning and a question alike, the older first;
    # then the rest
    assert order == [fresh, acked, high, question, normal]


def test_every_step_is_in_the_alert_history_with_names(client: TestClient,
                                                       teams: tuple[Team, Team]) -> None:
    north, _ = teams
    alert_id = _alert(north)
    csrf = login(client, north.clinician.email)
    for form in ({"action": "acknowledge"},
                 {"action": "assign", "assigned_to": str(north.admin.id)}):
        client.post(f"/alerts/{alert_id}", data={"csrf": csrf, **form})
    client.post(f"/alerts/{alert_id}/reply", data={"csrf": csrf, "text": "Yes, with food."})
    client.post(f"/alerts/{alert_id}", data={"csrf": csrf, "action": "resolve_not_useful",
                                             "note": "answered in chat"})
    events = client.get(f"/api/v1/alerts/{alert_id}/events", headers=north.admin.headers).json()
    assert [(e["action"], e["who"], e["note"]) for e in events] == [
        ("created", "the patient", None),
        ("acknowledged", "North Clinic clinician", None),
        ("assigned", "North Clinic clinician", "North Clinic admin"),
        ("replied", "North Clinic clinician", "Yes, with food."),
        ("resolved", "North Clinic clinician", "answered in chat — not useful")]
    card = _card(client.get("/alerts?status=resolved").text, alert_id)
    assert re.search(r"Resolved by North Clinic clinician at <time datetime=[^>]+>"
                     r"\w{3} \d+ \w{3} \d\d:\d\d</time>: answered in chat", card)
    assert "replied by North Clinic clinician: <q>Yes, with food.</q>" in card
    assert re.search(r"Reply sent by North Clinic clinician at <time[^>]+>[^<]+</time>: "
                     r"<q>Yes, with food.</q>", card)
    assert "member:" not in card
    [listed] = [a for a in client.get("/api/v1/alerts?status=resolved",
                                      headers=north.admin.headers).json() if a["id"] == alert_id]
    assert [e["action"] for e in listed["events"]][-2:] == ["replied", "resolved"]


def test_actions_come_back_to_the_same_filters_page_and_card(
        client: TestClient, ward: Ward, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    here = "/alerts?status=open&severity=urgent&assignee=unassigned&page=1"
    alert_id = ward.urgent_unassigned[0]
    for form in ({"action": "assign", "assigned_to": str(north.clinician.id)},
                 {"action": "resolve_useful", "note": ""},            # refused: no note
                 {"action": "acknowledge"}):
        answer = client.post(f"/alerts/{alert_id}", data={"csrf": csrf, **form},
                             headers={"Referer": f"http://127.0.0.1{here}"},
                             follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (
            303, f"{here}#alert-{alert_id}")
        if form["action"] == "resolve_useful":
            assert "Not saved: note: say how the alert was resolved" in client.get(here).text
    page = client.get(here).text   # acknowledged: no longer on the open tab
    assert f'data-moved="{alert_id}"' in page and "now acknowledged, assigned to North" in page
    assert 'data-moved' not in client.get(here).text   # said once
    snooze = client.post(f"/alerts/{ward.repeated[-1]}/snooze",
                         data={"csrf": csrf, "minutes": "60"},
                         headers={"Referer": "http://127.0.0.1/alerts?kind=reading&page=2"},
                         follow_redirects=False)
    assert snooze.headers["location"] == f"/alerts?kind=reading&page=2#alert-{ward.repeated[-1]}"


def test_assign_does_not_guess_and_reply_needs_a_chat(client: TestClient,
                                                      teams: tuple[Team, Team]) -> None:
    north, _ = teams
    unlinked = _alert(north, linked=False, name="No Chat")
    linked = _alert(north, name="Has Chat")
    csrf = login(client, north.clinician.email)
    page = client.get("/alerts").text
    card = _card(page, unlinked)
    select = card[card.index('name="assigned_to"'):card.index("</select>")]
    assert re.search(r'<option value="" selected disabled>— choose —</option>', select)
    assert select.count("selected") == 1
    assert "No chat linked" in card and "/reply" not in card
    assert f'action="/alerts/{linked}/reply"' in _card(page, linked)
    assert '<label for="reply-' in _card(page, linked)
    client.post(f"/alerts/{linked}", data={"csrf": csrf, "action": "assign",
                                           "assigned_to": str(north.admin.id)})
    select = _card(client.get("/alerts").text, linked)
    assert "— choose —" not in select
    assert re.search(rf'<option value="{north.admin.id}" selected>North Clinic admin<', select)
    refused = client.post(f"/alerts/{unlinked}/reply", data={"csrf": csrf, "text": "hi"},
                          headers={"Referer": "http://127.0.0.1/alerts"})
    assert "no linked chat" in refused.text


def test_the_api_filters_and_pages_alerts(client: TestClient, ward: Ward,
                                          teams: tuple[Team, Team]) -> None:
    north, south = teams
    h = north.clinician.headers
    answer = client.get("/api/v1/alerts?kind=question&limit=5", headers=h)
    found = answer.json()
    assert len(found) == 5 and {a["kind"] for a in found} == {"question"}
    assert int(answer.headers["x-total-count"]) == len(ward.questions)
    rest = client.get("/api/v1/alerts?kind=question&limit=500&offset=5", headers=h).json()
    assert len(found) + len(rest) == len(ward.questions)
    assert not {a["id"] for a in found} & {a["id"] for a in rest}
    urgent = client.get("/api/v1/alerts?status=open&severity=urgent&assignee=unassigned",
                        headers=h).json()
    assert sorted(a["id"] for a in urgent) == sorted(ward.urgent_unassigned)
    mine = client.get("/api/v1/alerts?assignee=me&limit=500", headers=h).json()
    assert {a["assigned_to"] for a in mine} == {north.clinician.id}
    twin = client.get(f"/api/v1/alerts?patient_id={ward.twins[0]}", headers=h).json()
    assert twin and {a["patient_id"] for a in twin} == {ward.twins[0]}
    assert twin[0]["events"][0]["action"] == "created"
    assert client.get("/api/v1/alerts?assignee=someone", headers=h).status_code == 422
    assert client.get("/api/v1/alerts?limit=501", headers=h).status_code == 422
    assert client.get("/api/v1/alerts", headers=south.admin.headers).json() == []


def test_snoozing_and_reopening_are_in_the_history(client: TestClient, ward: Ward,
                                                   teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h, alert_id = north.admin.headers, ward.repeated[-1]
    client.post(f"/api/v1/alerts/{alert_id}/snooze", headers=h, json={"minutes": 240})
    client.patch(f"/api/v1/alerts/{alert_id}", headers=h,
                 json={"status": "resolved", "note": "re-measured fine"})
    client.patch(f"/api/v1/alerts/{alert_id}", headers=h, json={"status": "open"})
    events = client.get(f"/api/v1/alerts/{alert_id}/events", headers=h).json()
    assert [(e["action"], e["who"], e["note"]) for e in events] == [
        ("created", "CareLoop", None),
        ("snoozed", "North Clinic admin", "240 min"),
        ("resolved", "North Clinic admin", "re-measured fine"),
        ("reopened", "North Clinic admin", None)]
    assert client.get(f"/api/v1/alerts/{alert_id}/events",
                      headers=teams[1].admin.headers).status_code == 404


def test_every_time_is_in_the_team_s_zone_stated_once(client: TestClient,
                                                      teams: tuple[Team, Team]) -> None:
    north, _ = teams
    alert_id = _alert(north, age_minutes=180)
    with session() as db:
        team = db.get(CareTeam, north.id)
        assert team is not None
        team.timezone = "America/New_York"
        db.add(team)
        created = db.get(Alert, alert_id).created_at  # type: ignore[union-attr]
    login(client, north.clinician.email)
    page = client.get("/alerts").text
    assert "Times in <strong>America/New_York</strong>" in page and " UTC" not in page
    local = created.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    assert f"{local}</time> (3 h ago)" in _card(page, alert_id)
