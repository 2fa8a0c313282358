"""Storage on SQLite and PostgreSQL: migrations, constraints and UTC round trips."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, Table, inspect
from sqlalchemy import select as core_select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from assistant.storage import db as dbmod
from assistant.storage.migrate import alembic_config, upgrade
from assistant.storage.models import (
    CareTeam,
    ChatLink,
    DoseOccurrence,
    DoseSchedule,
    Medication,
    Patient,
)
from tests.conftest import _pg_admin


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

    with dbmod.get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_data_directory_secret_and_sqlite_file_are_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assistant.config import get_settings
    from assistant.interfaces.cli import app
    from assistant.storage.keys import secret_key

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
def test_every_table_never_reuses_ids(any_db_url: str) -> None:
    """SQLite gives a deleted row's id again unless the table is AUTOINCREMENT (on
    PostgreSQL, sequences never go back): an erased patient's id must never return."""
    engine = dbmod.get_engine()
    with Session(engine) as db:
        team = CareTeam(name="Ward 7")
        db.add(team)
        db.flush()
        ids = []
        for name in ("Ada", "Bob"):
            patient = Patient(team_id=team.id, display_name=name)
            db.add(patient)
            db.flush()
            ids.append(patient.id)
            db.delete(patient)
            db.flush()
        assert ids[1] > ids[0]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            tables = dict(conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                "AND name NOT IN ('alembic_version', 'sqlite_sequence')").all())
        assert set(SQLModel.metadata.tables) <= set(tables)
        assert [name for name, sql in tables.items() if "AUTOINCREMENT" not in sql] == []


def test_database_errors_carry_no_parameters(any_db: Session) -> None:
    """What reaches a log through an exception: the statement, never the values."""
    any_db.add(Medication(patient_id=999_999, name="Secret-Drug-Name"))
    with pytest.raises(IntegrityError) as caught:
        any_db.flush()
    assert "Secret-Drug-Name" not in str(caught.value)


# Migrating a database with data -----------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, not migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"careloop_old_{uuid.uuid4().hex[:10]}"
    _pg_admin(server, f'CREATE DATABASE "{name}"')
    yield make_url(server).set(database=name).render_as_string(hide_password=False)


def _table(conn: Connection, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=conn)


def _rows(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in id order (without the audit log's new team column)."""
    found = {}
    for name in inspect(conn).get_table_names():
        if name in ("alembic_version", "sqlite_sequence"):
            continue
        table = _table(conn, name)
        found[name] = [{k: v for k, v in row._mapping.items() if k != "team_id"}
                       for row in conn.execute(core_select(table).order_by(table.c.id))]
    return found


def _schema(conn: Connection) -> dict[str, Any]:
    """Columns, keys, constraints and indexes of every table, as the database reports them."""
    look = inspect(conn)
    found = {}
    for name in look.get_table_names():
        if name in ("alembic_version", "sqlite_sequence"):
            continue
        found[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                        for c in look.get_columns(name) if c["name"] != "team_id"],
            "primary key": look.get_pk_constraint(name)["constrained_columns"],
            "foreign keys": sorted((fk["constrained_columns"], fk["referred_table"],
                                    fk["referred_columns"], sorted(fk["options"].items()))
                                   for fk in look.get_foreign_keys(name)),
            "unique": sorted((u["name"] or "", u["column_names"])
                             for u in look.get_unique_constraints(name)),
            "indexes": sorted(
                (i["name"] or "", i["column_names"], bool(i["unique"]),
                 str(i.get("dialect_options", {}).get(f"{conn.dialect.name}_where", "")))
                for i in look.get_indexes(name) if i["name"] != "ix_audit_log_team_id"),
        }
    return found


# Columns a later revision renamed: (table, its name at 0003) → its name now.
RENAMED = {("outbox", "telegram_message_id"): "channel_message_id"}


def _as_before(after: dict[str, list[dict[str, Any]]],
               before: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows of `after`, in the tables and columns that `before` has (by their names
    in `before`)."""
    return {name: [{key: row[RENAMED.get((name, key), key)] for key in rows[0]}
                   for row in after.get(name, [])]
            for name, rows in before.items()}


def _schema_as_before(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The schema of `after` in the tables and columns that `before` has; an index is kept
    when `before` had it."""
    found = {}
    for name, was in before.items():
        now = dict(after.get(name, {}))
        names = {column[0] for column in was["columns"]}
        old_name = {new: old for (table, old), new in RENAMED.items() if table == name}
        columns = [(old_name.get(c[0], c[0]), *c[1:]) for c in now.get("columns", [])]
        now["columns"] = [c for c in columns if c[0] in names]
        now["indexes"] = [i for i in now.get("indexes", []) if i in was["indexes"]]
        found[name] = now
    return found


def _seed_0003(conn: Connection) -> dict[str, int]:
    """Rows in every table as a 0003 database holds them, including an erased patient whose
    id SQLite has already given to a new patient of another team."""
    t0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

    def add(table: str, **values: Any) -> int:
        return int(conn.execute(_table(conn, table).insert().values(**values))
                   .inserted_primary_key[0])

    def audit(actor: str, action: str, patient: int | None, at: datetime) -> int:
        return add("audit_log", at=at, actor=actor, action=action, patient_id=patient,
                   detail="")

    north = add("care_teams", name="North", missed_alert_after=2, created_at=t0,
                reading_thresholds={"glucose": {"high": 10.0}}, self_shift_minutes=30)
    south = add("care_teams", name="South", missed_alert_after=3, created_at=t0)
    nurse = add("team_members", team_id=north, name="Nurse", email="n@north.example",
                role="admin", password_hash="x", active=True, created_at=t0)
    add("api_tokens", member_id=nurse, name="EHR", token_hash="a" * 64, created_at=t0,
        last_used_at=t0)
    add("login_attempts", key="email:n@north.example", at=t0)
    profile = {"timezone": "Europe/Berlin", "language": "en", "status": "active",
               "conditions": ["diabetes"], "goals": [], "advice_per_day": 1}
    ada = add("patients", team_id=north, chat_ref="c" * 32, display_name="Ada",
              created_at=t0, **profile)
    gone = add("patients", team_id=north, chat_ref="d" * 32, display_name="Gone",
               created_at=t0 + timedelta(hours=1), **profile)
    gone_added = audit("cli", "patient.add", gone, t0 + timedelta(hours=1))
    gone_erased = audit(f"member:{nurse}", "patient.erase", gone, t0 + timedelta(hours=2))
    patients = _table(conn, "patients")
    conn.execute(patients.delete().where(patients.c.id == gone))
    later = add("patients", team_id=south, chat_ref="e" * 32, display_name="Later",
                created_at=t0 + timedelta(hours=3), **profile)
    later_added = audit("cli", "patient.add", later, t0 + timedelta(hours=3))
    viewed = audit(f"member:{nurse}", "patient.view", ada, t0 + timedelta(hours=4))
    add("chat_links", patient_id=ada, channel="telegram", chat_id="42", linked_at=t0)
    add("enrolment_codes", patient_id=ada, code_hash="b" * 64, expires_at=t0, created_at=t0)
    add("enrolment_attempts", chat_id="43", at=t0)
    med = add("medications", patient_id=ada, name="Metformin", strength="500 mg",
              dose="1 tablet", instructions="", purpose="", active=True, created_at=t0)
    schedule = add("dose_schedules", medication_id=med, times_of_day=["08:00"],
                   every_n_days=1, start_date=date(2027, 1, 4), as_needed=False, active=True,
                   updated_at=t0)
    dose = add("dose_occurrences", schedule_id=schedule, medication_id=med, patient_id=ada,
               due_at=t0, status="taken", reminders_sent=1)
    add("outbox", patient_id=ada, kind="reminder", priority=0, text="Time for Metformin",
        buttons=[], occurrence_id=dose, status="sent", not_before=t0, attempts=1,
        created_at=t0, telegram_message_id=4711)
    add("readings", patient_id=ada, kind="glucose", value=6.7, unit="mmol/L", taken_at=t0,
        source="chat")
    add("alerts", patient_id=ada, team_id=north, kind="reading", severity="high",
        summary="glucose 12", status="open", created_at=t0)
    advice = add("advice_items", team_id=north, title="Walk", body="Ten minutes.", tags=[],
                 active=True, created_at=t0)
    add("advice_deliveries", patient_id=ada, advice_id=advice, local_day=date(2027, 1, 4),
        delivered_at=t0)
    return {"north": north, "south": south, "gone": gone, "later": later,
            "gone_added": gone_added, "gone_erased": gone_erased,
            "later_added": later_added, "viewed": viewed}


def test_upgrading_a_0003_database_keeps_every_row(empty_db_url: str) -> None:
    engine = dbmod.make_engine(empty_db_url)
    try:
        upgrade(engine=engine, revision="0003")
        with engine.begin() as conn:
            ids = _seed_0003(conn)
        with engine.connect() as conn:
            rows, schema = _rows(conn), _schema(conn)
        assert all(rows.values()), [name for name, found in rows.items() if not found]

        upgrade(engine=engine)

        with engine.connect() as conn:
            # What 0003 had is all still there (later revisions may add tables, columns
            # and indexes beside it).
            assert _as_before(_rows(conn), rows) == rows
            assert _schema_as_before(_schema(conn), schema) == schema
            audit_log = _table(conn, "audit_log")
            teams = dict(conn.execute(core_select(audit_log.c.id, audit_log.c.team_id)).all())
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # Each entry belongs to the team of the member who acted, else of the patient it is
        # about; an erased patient's entries belong to no team when no member acted.
        assert teams[ids["viewed"]] == ids["north"]
        assert teams[ids["gone_erased"]] == ids["north"]
        assert teams[ids["later_added"]] == ids["south"]
        assert teams[ids["gone_added"]] is None
        with Session(engine) as db:
            new = Patient(team_id=ids["south"], display_name="New")
            db.add(new)
            db.commit()
            assert new.id > max(ids["gone"], ids["later"])
            # Foreign keys are enforced again after the migration.
            db.add(Medication(patient_id=999_999, name="Ghost"))
            with pytest.raises(IntegrityError):
                db.flush()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_copies_starting_together_migrate_a_new_database_once(postgres_server: str,
                                                              tmp_path: Path) -> None:
    """Four copies of the services start at once on an empty PostgreSQL database: the
    advisory lock lets one migrate while the others wait, and all of them start."""
    name = f"careloop_new_{uuid.uuid4().hex[:10]}"
    _pg_admin(postgres_server, f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "CARELOOP_DATABASE_URL": url}
    logs = [tmp_path / f"upgrade-{n}.log" for n in range(4)]
    copies = [subprocess.Popen([sys.executable, "-m", "assistant", "db", "upgrade"], env=env,
                               stdout=log.open("w"), stderr=subprocess.STDOUT) for log in logs]
    codes = [copy.wait(timeout=120) for copy in copies]
    assert codes == [0, 0, 0, 0], [log.read_text()[-500:] for log in logs]
    engine = dbmod.make_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    finally:
        engine.dispose()
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert [v for (v,) in versions] == heads
