"""One set of schedule limits for every way a schedule comes in: the REST API, a FHIR
MedicationRequest, the console form and `careloop med add` each refuse the same
over-limit schedules, name the field, and write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from assistant.interfaces.cli import app as cli
from assistant.storage.db import session
from assistant.storage.models import DoseSchedule, Medication
from tests.web.conftest import Team, login

EVERY_MINUTE = [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in range(60)]
THIRTEEN = [f"{hour:02d}:00" for hour in range(8, 21)]


def _over(name: str, schedule: dict[str, Any], field: str, limit: str) -> Any:
    return pytest.param({"times": ["08:00"], **schedule}, field, limit, id=name)


# (schedule as the API takes it, the field at fault, the limit the message must give)
OVER_LIMIT = [
    _over("a-reminder-every-minute", {"times": EVERY_MINUTE}, "times", "12"),
    _over("13-times-a-day", {"times": THIRTEEN}, "times", "12"),
    _over("every-366-days", {"every_n_days": 366}, "every_n_days", "365"),
    _over("every-1e9-days", {"every_n_days": 10**9}, "every_n_days", "365"),
    _over("10001-doses", {"count": 10_001}, "count", "10000"),
    _over("starting-in-year-1", {"start_date": "0001-01-01"}, "start_date", "1900-01-01"),
    _over("ending-in-year-9999", {"end_date": "9999-12-31"}, "end_date", "2199-12-31"),
]
# The FHIR element each field of a schedule comes from.
FHIR_ELEMENT = {"times": ["timeOfDay"], "every_n_days": ["period"], "count": ["count"],
                "start_date": ["boundsPeriod", "start"], "end_date": ["boundsPeriod", "end"]}


def _nothing_written(team: Team) -> None:
    with session() as db:
        meds = db.exec(select(Medication).where(Medication.patient_id == team.patient_id))
        assert [med.name for med in meds] == ["Metformin"]
        assert len(db.exec(select(DoseSchedule)).all()) == 2  # the fixtures' two teams'


def _refusal(answer: Any) -> tuple[list[Any], str]:
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    return error["loc"], error["msg"]


@pytest.mark.parametrize(("schedule", "field", "limit"), OVER_LIMIT)
def test_the_api_refuses_an_over_limit_schedule(client: TestClient, teams: tuple[Team, Team],
                                               schedule: dict[str, Any], field: str,
                                               limit: str) -> None:
    north, _ = teams
    base = f"/api/v1/patients/{north.patient_id}/medications"
    loc, msg = _refusal(client.post(base, headers=north.clinician.headers,
                                    json={"name": "Aspirin", "schedule": schedule}))
    assert loc == ["body", "schedule", field] and limit in msg
    loc, msg = _refusal(client.put(f"{base}/{north.medication_id}/schedule",
                                   headers=north.clinician.headers, json=schedule))
    assert loc == ["body", field] and limit in msg
    _nothing_written(north)
    with session() as db:
        row = db.exec(select(DoseSchedule).where(
            DoseSchedule.medication_id == north.medication_id, DoseSchedule.active)).one()
        assert row.times_of_day == ["08:00", "20:00"]  # the old schedule is still in force


@pytest.mark.parametrize(("schedule", "field", "limit"), OVER_LIMIT)
def test_a_fhir_import_refuses_an_over_limit_schedule(
        client: TestClient, teams: tuple[Team, Team], schedule: dict[str, Any], field: str,
        limit: str) -> None:
    north, _ = teams
    repeat: dict[str, Any] = {
        "frequency": len(schedule["times"]), "period": schedule.get("every_n_days", 1),
        "periodUnit": "d", "timeOfDay": [f"{at}:00" for at in schedule["times"]]}
    if "count" in schedule:
        repeat["count"] = schedule["count"]
    bounds = {end: schedule[f"{end}_date"] for end in ("start", "end")
              if f"{end}_date" in schedule}
    if bounds:
        repeat["boundsPeriod"] = bounds
    resource = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                "subject": {"reference": "Patient/1"},
                "medicationCodeableConcept": {"text": "Aspirin"},
                "dosageInstruction": [{"timing": {"repeat": repeat}}]}
    loc, msg = _refusal(client.post(f"/api/v1/patients/{north.patient_id}/medications/fhir",
                                    headers=north.clinician.headers, json=resource))
    assert loc == ["body", "dosageInstruction", 0, "timing", "repeat", *FHIR_ELEMENT[field]]
    assert limit in msg
    _nothing_written(north)


@pytest.mark.parametrize(("schedule", "field", "limit"), OVER_LIMIT)
def test_the_console_refuses_an_over_limit_schedule(
        client: TestClient, teams: tuple[Team, Team], schedule: dict[str, Any], field: str,
        limit: str) -> None:
    if "count" in schedule:
        pytest.skip("the console form has no count")
    north, _ = teams
    csrf = login(client, north.clinician.email)
    page = f"/patients/{north.patient_id}"
    form = {"csrf": csrf, "name": "Aspirin", "times": ", ".join(schedule["times"]),
            "every_n_days": str(schedule.get("every_n_days", 1)),
            "start_date": schedule.get("start_date", ""), "end_date": schedule.get("end_date", "")}
    for action, key in ((f"{page}/medications", "med-add"),
                        (f"{page}/medications/{north.medication_id}/schedule",
                         f"med-{north.medication_id}-schedule")):
        answer = client.post(action, data=form, follow_redirects=False)
        # The same page again, as typed, with the message at the field (forms keep input).
        assert answer.status_code == 422
        shown = answer.text
        assert f'id="{key}-{field}" name="{field}" aria-invalid="true"' in shown
        assert f'href="#{key}-{field}"' in shown and limit in shown
    _nothing_written(north)


@pytest.mark.parametrize(("schedule", "field", "limit"), OVER_LIMIT)
def test_careloop_med_add_refuses_an_over_limit_schedule(
        teams: tuple[Team, Team], schedule: dict[str, Any], field: str, limit: str) -> None:
    north, _ = teams
    args = ["med", "add", str(north.patient_id), "--name", "Aspirin"]
    args += [part for at in schedule["times"] for part in ("--at", at)]
    options = {"every_n_days": "--every", "count": "--count", "start_date": "--start",
               "end_date": "--end"}
    args += [part for key, option in options.items() if key in schedule
             for part in (option, str(schedule[key]))]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {field}: ") and limit in result.output
    _nothing_written(north)
