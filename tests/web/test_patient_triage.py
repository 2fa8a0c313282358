"""The patient list ranks a realistic ward as a nurse would: an urgent reading first, then
the patient missing dose after dose and the one at 29 % this week, above patients at
95–100 % with a couple of minor alerts; paused patients last; each row says why, in the
console and through the API. The whole ward is gathered in a handful of queries."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import event

from assistant.services import views
from assistant.storage.db import get_engine, session, utcnow
from tests.web.conftest import Team, login
from tests.web.ward_patients import MINOR, seed_ward


def test_the_ward_is_ranked_as_a_nurse_would_with_the_reasons(teams: tuple[Team, Team]) -> None:
    north, south = teams
    now = utcnow()
    seed_ward(north.id, now)
    statements: list[str] = []
    event.listen(get_engine(), "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    with session() as db:
        rows = views.summaries(db, north.id, now=now)
    assert len(statements) <= 10, "the list must not query patient by patient"
    names = [r.patient.display_name for r in rows]
    why = {r.patient.display_name: r.reasons for r in rows}
    assert names[:3] == ["Henry Osei", "Tomas Weber", "Grace Mensah"]
    assert why["Henry Osei"][0].startswith("urgent: BP 182/110 mmHg")
    assert why["Tomas Weber"][0] == "3 missed in a row"
    assert why["Grace Mensah"][0] == "29 % this week"
    # 29 % outranks every patient at 95-100 % with a couple of non-urgent alerts.
    minor = [r for r in rows if r.patient.display_name in MINOR]
    assert all(r.adherence_7 is not None and r.adherence_7 >= 95 and r.open_alerts == 2
               and r.urgent_alerts == 0 for r in minor)
    assert all(names.index("Grace Mensah") < names.index(r.patient.display_name)
               for r in minor)
    assert all(why[r.patient.display_name] == ("2 open alerts",) for r in minor)
    # Out-of-range readings, an unreachable chat, no chat and silence rank above the fine.
    assert why["Rosa Lindqvist"] == ("BP high twice", "1 open alert")
    assert why["Piotr Nowak"] == ("unreachable",)
    assert why["Nadia Haddad"] == ("no chat yet",)
    assert why["Owen Price"] == ("no reply for 5 days",)
    assert why["Lena Fischer"] == ("1 missed today",)
    fine = names.index("Kenji Sato")
    assert max(names.index(n) for n in ("Rosa Lindqvist", "Piotr Nowak", "Owen Price",
                                        "Lena Fischer", *MINOR)) < fine
    assert why["Kenji Sato"] == ()
    # Paused: no reminders go out, so the list ends with them.
    assert names[-1] == "Ines Duarte" and rows[-1].adherence_7 == 52
    # Another team's list is its own.
    with session() as db:
        assert [r.patient.display_name for r in views.summaries(db, south.id)] == [
            "Patient of South Clinic"]


def test_the_console_and_the_api_show_the_order_and_why(client: TestClient,
                                                        teams: tuple[Team, Team]) -> None:
    north, _ = teams
    seed_ward(north.id, utcnow())
    login(client, north.clinician.email)
    page = client.get("/patients").text
    order = re.findall(r'<a href="/patients/\d+">([^<]+)</a>', page)
    assert order[:3] == ["Henry Osei", "Tomas Weber", "Grace Mensah"]
    assert len(order) == 50 and "Patients 1–50 of 151" in page
    assert "29 % this week" in page and "3 missed in a row" in page
    assert "BP high twice" in page and "no chat yet" in page
    answer = client.get("/api/v1/patients?limit=3", headers=north.clinician.headers)
    assert answer.status_code == 200 and answer.headers["X-Total-Count"] == "151"
    top = answer.json()
    assert [p["display_name"] for p in top] == ["Henry Osei", "Tomas Weber", "Grace Mensah"]
    assert top[2]["reasons"][0] == "29 % this week" and top[2]["adherence_7"] == 29
    assert top[1]["missed_in_a_row"] == 3 and top[1]["today"]["missed"] >= 1
    assert top[0]["urgent_alerts"] == 1
