"""Bad input of every kind, sent as raw bytes to every part of the API (and the console's
forms): each is a 422 naming the field, never a server error, and writes nothing.

Python's own JSON reader lets through what JSON does not allow (NaN, Infinity, numbers
too large for a float, lone surrogates such as "\\ud800"); a time at the edge of the
calendar overflows when moved to UTC. These are the inputs that found those holes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from assistant.storage.db import session
from assistant.storage.models import (
    AdviceItem,
    Alert,
    AlertKind,
    CareTeam,
    DoseSchedule,
    EnrolmentCode,
    Medication,
    OutboxMessage,
    Patient,
    Reading,
)
from tests.web.conftest import Team, login

SURROGATE = "\\ud800"  # as it is written inside a JSON string: an unpaired high surrogate
YEAR_ONE = '"0001-01-01T00:00:00+14:00"'  # 31 December of year 0 in UTC: no such datetime
REQUEST = ('{"resourceType": "MedicationRequest", "status": "active", "intent": "order", '
           '"subject": {"reference": "Patient/1"}, "medicationCodeableConcept": {"text": %s}, '
           '"dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": %s, '
           '"periodUnit": "d", "timeOfDay": ["08:00:00"]%s}}, "doseAndRate": [{"doseQuantity": '
           '{"value": %s, "unit": "tablet"}}]}]}')
REPEAT = ["dosageInstruction", 0, "timing", "repeat"]


def fhir(name: str = '"Metformin"', period: str = "1", bounds: str = "", dose: str = "1") -> str:
    return REQUEST % (name, period, bounds, dose)


def med(schedule: str = '{"times": ["08:00"]}', **fields: str) -> str:
    extra = "".join(f', "{key}": {value}' for key, value in fields.items())
    return f'{{"name": "Aspirin", "schedule": {schedule}{extra}}}'


def reading(**fields: str) -> str:
    given = {"kind": '"weight"', "value": "80", **fields}
    return "{" + ", ".join(f'"{key}": {value}' for key, value in given.items()) + "}"


P, M, A, V = "/api/v1/patients/{patient}", "{medication}", "/api/v1/alerts/{alert}", "{advice}"
BAD = [
    # patients
    ("post", "/api/v1/patients", f'{{"display_name": "Ada{SURROGATE}"}}', ["display_name"]),
    ("post", "/api/v1/patients", '{"display_name": "Ada", "timezone": "\\udc00UTC"}',
     ["timezone"]),
    ("post", "/api/v1/patients", f'{{"display_name": "Ada", "conditions": ["x", "{SURROGATE}"]}}',
     ["conditions", 1]),
    ("post", "/api/v1/patients", f'{{"display_name{SURROGATE}": "Ada"}}',
     ["display_name\\ud800"]),
    ("post", "/api/v1/patients", b'{"display_name": "Ada \xff\xfe"}', ["display_name"]),
    ("post", "/api/v1/patients", "NaN", []),
    ("post", "/api/v1/patients", "[" * 100_000 + "]" * 100_000, []),
    ("patch", P, f'{{"quiet_start": "{SURROGATE}"}}', ["quiet_start"]),
    ("patch", P, '{"advice_per_day": NaN}', ["advice_per_day"]),
    ("patch", P, '{"display_name": "\\udfff"}', ["display_name"]),
    # medications and schedules
    ("post", f"{P}/medications", med(name=f'"Metformin{SURROGATE}"'), ["name"]),
    ("post", f"{P}/medications", med('{"times": ["08:00\\udc00"]}'), ["schedule", "times", 0]),
    ("post", f"{P}/medications", med(supply_count="Infinity"), ["supply_count"]),
    ("post", f"{P}/medications", med('{"times": ["08:00"], "every_n_days": 1e400}'),
     ["schedule", "every_n_days"]),
    ("post", f"{P}/medications", med('{"times": ["08:00"], "count": -Infinity}'),
     ["schedule", "count"]),
    ("post", f"{P}/medications", med('{"times": ["08:00"], "count": ' + "9" * 5000 + "}"),
     ["schedule", "count"]),
    ("patch", f"{P}/medications/{M}", f'{{"instructions": "with food{SURROGATE}"}}',
     ["instructions"]),
    ("put", f"{P}/medications/{M}/schedule", '{"times": ["08:00"], "start_date": "0001-01-01"}',
     ["start_date"]),
    ("put", f"{P}/medications/{M}/schedule", '{"times": ["08:00"], "every_n_days": NaN}',
     ["every_n_days"]),
    # readings
    ("post", f"{P}/readings", reading(value="NaN"), ["value"]),
    ("post", f"{P}/readings", reading(value="Infinity"), ["value"]),
    ("post", f"{P}/readings", reading(value="-1e400"), ["value"]),
    ("post", f"{P}/readings", reading(kind='"blood_pressure"', value="120", value2="NaN"),
     ["value2"]),
    ("post", f"{P}/readings", reading(taken_at=YEAR_ONE), ["taken_at"]),
    ("post", f"{P}/readings", reading(taken_at='"9999-12-31T23:59:59-14:00"'), ["taken_at"]),
    ("post", f"{P}/readings", reading(taken_at='"1899-12-31T23:59:59Z"'), ["taken_at"]),
    ("post", f"{P}/readings", reading(source=f'"cuff{SURROGATE}"'), ["source"]),
    ("post", f"{P}/readings/batch", f'{{"readings": [{reading()}, {reading(value="NaN")}]}}',
     ["readings", 1, "value"]),
    ("post", f"{P}/readings/batch", f'{{"readings": [{reading()}, {reading(taken_at=YEAR_ONE)}]}}',
     ["readings", 1, "taken_at"]),
    # a FHIR MedicationRequest
    ("post", f"{P}/medications/fhir", fhir(period="1e400"), [*REPEAT, "period"]),
    ("post", f"{P}/medications/fhir", fhir(period="NaN"), [*REPEAT, "period"]),
    ("post", f"{P}/medications/fhir", fhir(period="1000000000"), [*REPEAT, "period"]),
    ("post", f"{P}/medications/fhir", fhir(name=f'"Metformin{SURROGATE}"'),
     ["medicationCodeableConcept", "text"]),
    ("post", f"{P}/medications/fhir",
     fhir(bounds=f', "boundsPeriod": {{"start": {YEAR_ONE}}}'),
     [*REPEAT, "boundsPeriod", "start"]),
    ("post", f"{P}/medications/fhir", fhir(dose="Infinity"),
     ["dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "value"]),
    # alerts
    ("patch", A, f'{{"note": "called{SURROGATE}"}}', ["note"]),
    ("patch", A, '{"assigned_to": 100000000000000000000}', ["assigned_to"]),
    # advice
    ("post", "/api/v1/advice", f'{{"title": "Walk{SURROGATE}", "body": "x"}}', ["title"]),
    ("put", f"/api/v1/advice/{V}", f'{{"title": "Walk", "body": "x", "tags": ["{SURROGATE}"]}}',
     ["tags", 0]),
    # team settings
    ("patch", "/api/v1/team", '{"reading_thresholds": {"glucose": {"low": NaN}}}',
     ["reading_thresholds", "glucose", "low"]),
    ("patch", "/api/v1/team", '{"reading_thresholds": {"systolic": {"high": 1e400}}}',
     ["reading_thresholds", "systolic", "high"]),
    ("patch", "/api/v1/team", f'{{"emergency_number": "112{SURROGATE}"}}', ["emergency_number"]),
    ("patch", "/api/v1/team", '{"grace_minutes": Infinity}', ["grace_minutes"]),
    # messages and enrolment codes
    ("post", f"{P}/messages", f'{{"text": "hello{SURROGATE}"}}', ["text"]),
    ("post", f"{P}/enrolment-codes", '{"hours": NaN}', ["hours"]),
]


def _written() -> dict[str, Any]:
    """What a refused request must leave as it was."""
    with session() as db:
        counts = {model.__name__: db.exec(select(func.count()).select_from(model)).one()
                  for model in (Patient, Medication, DoseSchedule, Reading, AdviceItem,
                                OutboxMessage, EnrolmentCode)}
        teams = [(team.reading_thresholds, team.grace_minutes, team.emergency_number)
                 for team in db.exec(select(CareTeam)).all()]
        alerts = [(a.status, a.assigned_to, a.resolution_note)
                  for a in db.exec(select(Alert)).all()]
        return {**counts, "teams": teams, "alerts": alerts}


@pytest.fixture
def ids(teams: tuple[Team, Team]) -> dict[str, int]:
    north, _ = teams
    with session() as db:
        alert = Alert(patient_id=north.patient_id, team_id=north.id, kind=AlertKind.symptom,
                      summary="dizzy")
        advice = AdviceItem(team_id=north.id, title="Walk", body="Ten minutes.")
        db.add_all([alert, advice])
        db.flush()
        return {"patient": north.patient_id, "medication": north.medication_id,
                "alert": alert.id, "advice": advice.id}


@pytest.mark.parametrize(("method", "path", "body", "loc"), BAD,
                         ids=[f"{m} {p} {b[:40]!r}" for m, p, b, _ in BAD])
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
        client: TestClient, teams: tuple[Team, Team], ids: dict[str, int], method: str,
        path: str, body: str | bytes, loc: list[Any]) -> None:
    before = _written()
    answer = client.request(
        method, path.format(**ids), headers={**teams[0].admin.headers,
                                             "Content-Type": "application/json"},
        content=body if isinstance(body, bytes) else body.encode("utf-8"))
    assert answer.status_code == 422, answer.text[:500]
    errors = json.loads(answer.content.decode("utf-8"))["detail"]  # the answer is valid JSON
    assert ["body", *loc] in [error["loc"] for error in errors], errors
    assert all(error["msg"] for error in errors)
    assert len(answer.content) < 2000  # a bad value is named, not echoed at length
    assert _written() == before


def test_a_reading_time_must_be_a_real_moment(client: TestClient,
                                              teams: tuple[Team, Team]) -> None:
    north, _ = teams
    base = f"/api/v1/patients/{north.patient_id}/readings"
    now = datetime.now(UTC)

    def at(moment: str) -> Any:
        return client.post(base, headers=north.admin.headers,
                           json={"kind": "weight", "value": 80, "taken_at": moment})

    for moment in ("1900-01-01T00:00:00Z", "1900-01-01T05:30:00+05:30",
                   (now + timedelta(minutes=1)).isoformat()):  # a device clock a little fast
        assert at(moment).status_code == 201, moment
    for moment in ("1899-12-31T23:59:59Z", "1900-01-01T05:29:59+05:30",
                   (now + timedelta(minutes=10)).isoformat(), "0001-01-01T00:00:00+14:00"):
        refused = at(moment)
        assert refused.status_code == 422, moment
        assert refused.json()["detail"][0]["loc"] == ["body", "taken_at"]


def test_strict_json_still_reads_what_json_allows(client: TestClient,
                                                  teams: tuple[Team, Team]) -> None:
    north, _ = teams
    headers = {**north.admin.headers, "Content-Type": "application/json"}
    made = client.post("/api/v1/patients", headers=headers,
                       content='{"display_name": "Zo\\u00eb \\ud83d\\ude00 \u00c5sa", '
                               '"conditions": ["1e3"]}'.encode())
    assert made.status_code == 201, made.text
    assert made.json()["display_name"] == "Zoë 😀 Åsa"
    reading_ = client.post(f"/api/v1/patients/{north.patient_id}/readings", headers=headers,
                           content=b'{"kind": "weight", "value": 8.05e1, "value2": null}')
    assert reading_.status_code == 201 and reading_.json()["value"] == 80.5


# (form action, form, refused?): text a browser could not have sent (a lone surrogate,
# percent-encoded or raw) is read with U+FFFD in its place, so it may be saved; the rest
# must be refused. Either way, never a server error.
CONSOLE_BAD = [
    ("/patients", "display_name=Ada%ED%A0%80&timezone=UTC", False),
    ("/patients", b"display_name=Ada\xed\xa0\x80&timezone=UTC", False),
    ("/patients", "display_name=Ada&timezone=%ED%A0%80", True),
    ("/patients/{patient}/profile", "display_name=%ED%B2%80&timezone=UTC&language=en", False),
    ("/patients/{patient}/medications", "name=X%ED%A0%80&times=08:00%ED%A0%80", True),
    ("/patients/{patient}/medications", "name=X&times=08:00&every_n_days=1e400", True),
    ("/patients/{patient}/medications", "name=X&times=08:00&every_n_days=" + "9" * 5000, True),
    ("/patients/{patient}/medications", "name=X&times=08:00&start_date=0001-01-01", True),
    ("/patients/{patient}/reply", "text=%ED%A0%80", False),
    ("/settings", "glucose_low=1e400", True),
    ("/settings", "glucose_low=nan", True),
    ("/settings", "systolic_high=-inf", True),
    ("/settings", "grace_minutes=1e400", True),
    ("/settings", "grace_minutes=nan", True),
    ("/advice", "title=x&body=y&advice_id=100000000000000000000", True),
    ("/alerts/{alert}", "action=assign&assigned_to=100000000000000000000", True),
]


@pytest.mark.parametrize(("path", "form", "refused"), CONSOLE_BAD,
                         ids=[f"{p} {f[:40]!r}" for p, f, _ in CONSOLE_BAD])
def test_bad_console_forms_never_make_a_server_error(
        client: TestClient, teams: tuple[Team, Team], ids: dict[str, int], path: str,
        form: str | bytes, refused: bool) -> None:
    csrf = login(client, teams[0].admin.email)
    before = _written()
    body = (form if isinstance(form, bytes) else form.encode()) + b"&csrf=" + csrf.encode()
    page = f"/patients/{ids['patient']}"
    answer = client.post(path.format(**ids), content=body, follow_redirects=False,
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "Referer": f"http://127.0.0.1{page}"})
    assert answer.status_code < 500, answer.text[:500]
    if refused:
        assert answer.status_code in (303, 422), answer.text[:500]
        if answer.status_code == 303:  # back to the form's page, saying what was not saved
            assert answer.headers["location"] == page
            assert "Not saved:" in client.get(page).text
        assert _written() == before
