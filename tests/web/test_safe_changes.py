"""Safe changes: stopping a medicine asks for confirmation and a reason, keeps a history
with an undo, and the activity list names the medicine and the member; deactivating a
member and revoking a token ask first."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.storage.db import session
from assistant.storage.models import ApiToken, DoseSchedule, Medication, TeamMember
from tests.web.conftest import Team, csrf_of, login


def _med(team: Team) -> Medication:
    with session() as db:
        med = db.get(Medication, team.medication_id)
        assert med is not None
        db.expunge(med)
        return med


def _stop_url(team: Team) -> str:
    return f"/patients/{team.patient_id}/medications/{team.medication_id}/stop"


def test_the_patient_page_has_no_one_click_stop(client: TestClient,
                                                teams: tuple[Team, Team]) -> None:
    north, _ = teams
    login(client, north.clinician.email)
    page = client.get(f"/patients/{north.patient_id}").text
    assert f'action="{_stop_url(north)}"' not in page       # no stop form under the schedule
    assert f'href="{_stop_url(north)}"' in page               # a link to the confirmation
    confirm = client.get(_stop_url(north))
    assert confirm.status_code == 200
    assert "Stop Metformin 500 mg for Patient of North Clinic?" in confirm.text
    for reason in ("completed course", "side effects", "changed by prescriber",
                   "patient declined", "entered in error"):
        assert f'<option value="{reason}"' in confirm.text
    assert _med(north).active  # asking is not stopping


def test_a_stop_without_a_reason_is_refused_and_nothing_changes(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    answer = client.post(_stop_url(north), data={"csrf": csrf, "reason": "", "note": ""})
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text and 'href="#stop-reason"' in answer.text
    assert 'id="stop-reason" name="reason" aria-invalid="true"' in answer.text
    assert _med(north).active


def test_a_stop_with_a_reason_is_kept_shown_and_can_be_undone(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    answer = client.post(_stop_url(north), data={"csrf": csrf, "reason": "side effects",
                                                 "note": "nausea"}, follow_redirects=False)
    assert answer.status_code == 303
    med = _med(north)
    assert not med.active and med.stop_reason == "side effects: nausea"
    assert med.stopped_by == "North Clinic clinician" and med.stopped_at is not None
    page = client.get(f"/patients/{north.patient_id}").text
    history = page[page.index("Stopped medicines"):]
    assert "Metformin 500 mg" in history and "North Clinic clinician" in history
    assert "side effects: nausea" in history
    # The activity names the medicine and the member, not "member:3".
    assert "Metformin 500 mg stopped by North Clinic clinician: side effects: nausea" in page
    assert "member:" not in page
    # Restart: a confirmation first, then the medicine is back with its schedule.
    restart = f"/patients/{north.patient_id}/medications/{north.medication_id}/restart"
    assert "Restart Metformin 500 mg" in client.get(restart).text
    assert not _med(north).active
    client.post(restart, data={"csrf": csrf})
    med = _med(north)
    assert med.active and med.stop_reason is None
    with session() as db:
        rows = db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == med.id,
                                                  DoseSchedule.active)).all()
        assert [r.times_of_day for r in rows] == [["08:00", "20:00"]]
    page = client.get(f"/patients/{north.patient_id}").text
    assert "Metformin 500 mg restarted by North Clinic clinician" in page


def test_the_api_stops_a_medicine_with_a_reason_only(client: TestClient,
                                                      teams: tuple[Team, Team]) -> None:
    north, _ = teams
    base = f"/api/v1/patients/{north.patient_id}/medications/{north.medication_id}"
    h = north.clinician.headers
    assert client.post(f"{base}/stop", headers=h, json={}).status_code == 422
    assert client.post(f"{base}/stop", headers=h, json={"reason": " "}).status_code == 422
    assert client.delete(base, headers=h).status_code == 422   # DELETE needs ?reason= too
    assert _med(north).active
    stopped = client.post(f"{base}/stop", headers=h, json={"reason": "completed course"})
    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert body["active"] is False and body["stop_reason"] == "completed course"
    assert body["stopped_by"] == "North Clinic clinician" and body["stopped_at"]
    assert client.post(f"{base}/stop", headers=h,
                       json={"reason": "again"}).status_code == 422  # already stopped


def test_deactivating_a_member_asks_first(client: TestClient,
                                          teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.admin.email)
    settings = client.get("/settings").text
    url = f"/settings/members/{north.clinician.id}/deactivate"
    assert f'href="{url}"' in settings and f'action="{url}"' not in settings
    confirm = client.get(url)
    assert "Deactivate North Clinic clinician?" in confirm.text
    assert "can no longer log in" in confirm.text
    with session() as db:
        member = db.get(TeamMember, north.clinician.id)
        assert member is not None and member.active
    client.post(url, data={"csrf": csrf_of(confirm.text)})
    with session() as db:
        member = db.get(TeamMember, north.clinician.id)
        assert member is not None and not member.active
    assert csrf


def test_revoking_a_token_asks_first(client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    login(client, north.clinician.email)
    page = client.get("/tokens").text
    url = re.search(r'href="(/tokens/\d+/revoke)"', page)
    assert url and 'action="/tokens/' not in page.replace('action="/tokens"', "")
    confirm = client.get(url.group(1))
    assert "Revoke the token “tests”?" in confirm.text
    with session() as db:
        assert all(t.revoked_at is None for t in db.exec(select(ApiToken)).all())
    client.post(url.group(1), data={"csrf": csrf_of(confirm.text)})
    assert client.get("/api/v1/patients", headers=north.clinician.headers).status_code == 401
