"""The operator's command line, on a real database: what it prints and what it writes."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from assistant.interfaces.cli import app
from assistant.services import enrolment
from assistant.storage import db as dbmod
from assistant.storage.models import (
    AuditEntry,
    CareTeam,
    DoseSchedule,
    EnrolmentCode,
    Medication,
    Patient,
)

runner = CliRunner()


def careloop(*args: str, ok: bool = True) -> str:
    result = runner.invoke(app, list(args))
    assert (result.exit_code == 0) == ok, result.output
    return result.output.strip()


@pytest.fixture
def patient_id(db_url: str) -> str:
    careloop("team", "add", "Ward 7")
    return careloop("patient", "add", "--team", "Ward 7", "--name", "Ada",
                    "--tz", "Europe/Berlin")


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path: object) -> None:
    assert careloop("db", "upgrade") == "database is up to date"
    assert careloop("db", "upgrade") == "database is up to date"
    assert careloop("team", "add", "Ward 7") == "1"


def test_med_add_with_days_is_listed_by_doses_in_local_and_utc(patient_id: str) -> None:
    careloop("med", "add", patient_id, "--name", "Metformin", "--strength", "500 mg",
             "--at", "08:00", "--at", "20:00", "--days", "mon,wed,fri")
    lines = careloop("doses", patient_id, "--from", "2027-03-26", "--days", "5").splitlines()
    assert lines == [
        "2027-03-26 08:00 CET  2027-03-26 07:00 UTC  Metformin 500 mg",
        "2027-03-26 20:00 CET  2027-03-26 19:00 UTC  Metformin 500 mg",
        "2027-03-29 08:00 CEST  2027-03-29 06:00 UTC  Metformin 500 mg",
        "2027-03-29 20:00 CEST  2027-03-29 18:00 UTC  Metformin 500 mg",
    ]


def test_med_add_keeps_what_to_do_if_a_dose_is_missed(patient_id: str) -> None:
    med_id = careloop("med", "add", patient_id, "--name", "Metformin", "--at", "08:00",
                      "--if-missed", "Take it with your next meal, never two at once.")
    with dbmod.session() as db:
        med = db.get(Medication, int(med_id))
        assert med is not None
        assert med.missed_dose_instructions == "Take it with your next meal, never two at once."


@pytest.mark.parametrize("args, message", [
    (["--at", "25:00"], "25:00"),
    (["--at", "08:00", "--days", "mon,funday"], "funday"),
    (["--at", "08:00", "--start", "2027-05-01", "--end", "2027-04-01"], "end"),
    ([], "time"),
])
def test_a_bad_schedule_is_refused_and_nothing_is_written(
        patient_id: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["med", "add", patient_id, "--name", "Metformin", *args])
    assert result.exit_code == 2
    assert message in result.output.lower() and result.output.startswith("error:")
    with dbmod.session() as db:
        assert db.exec(select(Medication)).all() == []
        assert db.exec(select(DoseSchedule)).all() == []


def test_unknown_team_patient_or_zone_is_a_clear_error(db_url: str) -> None:
    assert "no care team" in careloop("patient", "add", "--team", "Nope", "--name", "A", ok=False)
    careloop("team", "add", "Ward 7")
    out = careloop("patient", "add", "--team", "Ward 7", "--name", "A", "--tz", "Mars/Base",
                   ok=False)
    assert "Mars/Base" in out
    assert "no patient 42" in careloop("enrol", "42", ok=False)
    with dbmod.session() as db:
        assert db.exec(select(Patient)).all() == []


def test_enrol_prints_a_code_and_deep_link_stored_only_as_a_hash(patient_id: str) -> None:
    out = careloop("enrol", patient_id)
    code = re.search(r"code: (\w+)", out)
    assert code and f"https://t.me/CareLoopBot?start={code.group(1)}" in out
    with dbmod.session() as db:
        [row] = db.exec(select(EnrolmentCode)).all()
        assert row.code_hash == enrolment.code_hash(code.group(1))
        assert code.group(1) not in row.code_hash
        actions = [entry.action for entry in db.exec(select(AuditEntry)).all()]
        assert actions == ["team.add", "patient.add", "enrolment.issue"]


def test_invalid_settings_stop_with_the_setting_named(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.config import get_settings

    monkeypatch.setenv("CARELOOP_TIMEZONE", "Europe/Atlantis")
    get_settings.cache_clear()
    out = careloop("patient", "add", "--team", "x", "--name", "y", ok=False)
    assert "CARELOOP_TIMEZONE" in out and "Europe/Atlantis" in out


def test_a_new_time_zone_moves_the_listed_dose_times(patient_id: str) -> None:
    careloop("med", "add", patient_id, "--name", "Metformin", "--at", "08:00")
    assert careloop("patient", "tz", patient_id, "America/New_York").endswith("America/New_York")
    [first] = careloop("doses", patient_id, "--from", "2027-01-04", "--days", "1").splitlines()
    assert first.startswith("2027-01-04 08:00 EST  2027-01-04 13:00 UTC")
    assert "Mars/Base" in careloop("patient", "tz", patient_id, "Mars/Base", ok=False)


def test_a_patient_added_without_a_zone_gets_the_team_s(db_url: str) -> None:
    careloop("team", "add", "Ward 7")
    with dbmod.session() as db:
        team = db.exec(select(CareTeam)).one()
        team.timezone = "Europe/Lisbon"
        db.add(team)
    patient_id = careloop("patient", "add", "--team", "Ward 7", "--name", "Ada")
    with dbmod.session() as db:
        patient = db.get(Patient, int(patient_id))
        assert patient is not None and patient.timezone == "Europe/Lisbon"
