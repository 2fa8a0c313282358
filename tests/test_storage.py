"""Storage on SQLite and PostgreSQL: migrations, constraints and UTC round trips."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from assistant import db as dbmod
from assistant.models import (
    CareTeam,
    ChatLink,
    DoseOccurrence,
    DoseSchedule,
    Medication,
    Patient,
)


def _patient(db: Session) -> Patient:
    team = CareTeam(name="Ward 7")
    db.add(team)
    db.flush()
    patient = Patient(team_id=team.id, display_name="Ada", timezone="Europe/Berlin")
    db.add(patient)
    db.flush()
    return patient


def test_migrations_create_every_table(any_db_url: str) -> None:
    tables = set(inspect(dbmod.get_engine()).get_table_names())
    assert {"patients", "dose_occurrences", "outbox", "audit_log", "alembic_version"} <= tables


def test_datetimes_come_back_as_aware_utc(any_db: Session) -> None:
    patient = _patient(any_db)
    berlin_noon = datetime(2027, 3, 28, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    patient.consent_at = berlin_noon
    any_db.commit()
    any_db.expire_all()
    stored = any_db.get(Patient, patient.id)
    assert stored is not None and stored.consent_at == berlin_noon
    assert stored.consent_at.tzinfo is not None and stored.consent_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(any_db: Session) -> None:
    patient = _patient(any_db)
    patient.consent_at = datetime(2027, 1, 1, 8, 0)
    with pytest.raises(Exception, match="naive datetime"):
        any_db.flush()


def test_a_dose_occurrence_is_unique_per_schedule_and_time(any_db: Session) -> None:
    patient = _patient(any_db)
    med = Medication(patient_id=patient.id, name="Metformin")
    any_db.add(med)
    any_db.flush()
    schedule = DoseSchedule(medication_id=med.id, times_of_day=["08:00"],
                            start_date=date(2027, 1, 1))
    any_db.add(schedule)
    any_db.flush()
    due = datetime(2027, 1, 1, 7, 0, tzinfo=UTC)
    for _ in range(2):
        any_db.add(DoseOccurrence(schedule_id=schedule.id, medication_id=med.id,
                                  patient_id=patient.id, due_at=due))
    with pytest.raises(IntegrityError):
        any_db.flush()


def test_a_chat_links_to_one_patient_at_a_time(any_db: Session) -> None:
    patient = _patient(any_db)
    other = Patient(team_id=patient.team_id, display_name="Bob")
    any_db.add(other)
    any_db.flush()
    any_db.add(ChatLink(patient_id=patient.id, chat_id="42"))
    any_db.flush()
    any_db.add(ChatLink(patient_id=other.id, chat_id="42"))
    with pytest.raises(IntegrityError):
        any_db.flush()


def test_foreign_keys_are_enforced(any_db: Session) -> None:
    any_db.add(Medication(patient_id=999_999, name="Ghost"))
    with pytest.raises(IntegrityError):
        any_db.flush()


def test_deleting_a_patient_removes_their_data(any_db: Session) -> None:
    patient = _patient(any_db)
    any_db.add(Medication(patient_id=patient.id, name="Metformin"))
    any_db.commit()
    any_db.delete(patient)
    any_db.commit()
    assert any_db.exec(select(Medication)).all() == []


def test_migrations_match_the_models(any_db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with dbmod.get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_data_directory_secret_and_sqlite_file_are_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.keys import secret_key
    from assistant.settings import get_settings

    data = tmp_path / "fresh" / "var"
    monkeypatch.setenv("CARELOOP_DATA_DIR", str(data))
    get_settings.cache_clear()
    previous = os.umask(0o022)  # the usual umask: files readable by everyone unless we say
    try:
        assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
        secret_key(get_settings())
    finally:
        os.umask(previous)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("careloop.db", "secret_key"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
