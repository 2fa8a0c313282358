"""A patient's data export and erasure, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert
from sqlalchemy import select as core_select
from sqlmodel import Session, SQLModel, select

from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import enrolment, medications, occurrences, patients, privacy, teams
from assistant.storage import db as dbmod
from assistant.storage.models import (
    AdviceDelivery,
    AdviceItem,
    Alert,
    AlertKind,
    AlertSnooze,
    AuditEntry,
    CareTeam,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    EnrolmentAttempt,
    MeasureTarget,
    Medication,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Reading,
)

ZONE = "Asia/Kolkata"  # +05:30 all year: every exported time must say so
DUE = datetime(2027, 1, 5, 2, 30, tzinfo=UTC)
TAKEN = datetime(2027, 1, 5, 7, 30, tzinfo=UTC)
TAKEN_LOCAL = "2027-01-05T13:00:00+05:30"


def _build(db: Session, team: CareTeam, name: str, drug: str, chat_id: str) -> tuple[Patient, str]:
    """A patient with a row in every table that can hold one; returns them and their code."""
    patient = patients.add_patient(db, team=team, name=name, timezone=ZONE, actor="cli",
                                   conditions=["diabetes"], goals=["walk more"])
    med = medications.add_medication(db, patient=patient, name=drug, strength="500 mg",
                                  missed_dose_instructions="Take it when you remember.",
                                  schedule=ScheduleSpec(times=("08:00",)), actor="cli")
    schedule = db.exec(select(DoseSchedule).where(DoseSchedule.medication_id == med.id)).one()
    occurrence = DoseOccurrence(schedule_id=schedule.id, medication_id=med.id,
                                patient_id=patient.id, due_at=DUE, status=DoseStatus.taken,
                                sent_at=DUE, outcome_at=TAKEN, outcome_source="button")
    db.add(occurrence)
    db.flush()
    item = AdviceItem(team_id=team.id, title=f"Walk after meals ({name})", body="Ten minutes.")
    db.add(item)
    db.flush()
    db.add_all([
        Reading(patient_id=patient.id, kind="glucose", code="15074-8", value=6.7,
                unit="mmol/L", taken_at=TAKEN),
        Alert(patient_id=patient.id, team_id=team.id, kind=AlertKind.symptom,
              summary="Feels dizzy after lunch"),
        MeasureTarget(team_id=team.id, patient_id=patient.id, measure="spo2", warning_low=90),
        AlertSnooze(patient_id=patient.id, measure="glucose", direction="high",
                    until=DUE + timedelta(hours=4), created_by="member:1"),
        OutboxMessage(patient_id=patient.id, kind=MessageKind.reminder, text=f"Time for {drug}",
                      occurrence_id=occurrence.id, status=OutboxStatus.sent, sent_at=DUE,
                      channel="telegram", chat_id=chat_id),
        AdviceDelivery(patient_id=patient.id, advice_id=item.id, local_day=DUE.date()),
        EnrolmentAttempt(chat_id=chat_id),
    ])
    issued = enrolment.issue_code(db, patient=patient, actor="cli", hours=72)
    enrolment.redeem_code(db, code=issued.code, channel="telegram", chat_id=chat_id)
    db.commit()
    return patient, issued.code


def _team(db: Session) -> CareTeam:
    return teams.add_team(db, name="Ward 7", actor="cli")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_export_is_readable_json_without_secrets(any_db: Session) -> None:
    team = _team(any_db)
    patient, code = _build(any_db, team, "Ada", "Metformin", "555000111")
    stopped = medications.add_medication(any_db, patient=patient, name="Ramipril",
                                      schedule=ScheduleSpec(times=("20:00",)),
                                      actor="cli")
    occurrences.stop_medication(any_db, medication=stopped, actor="cli")
    any_db.commit()

    data = privacy.export(any_db, patient, actor="member:1")
    any_db.commit()
    text = json.dumps(data)

    assert "Metformin" in text and "Ramipril" in text
    assert [r["value"] for r in data["readings"]] == [6.7]
    assert data["readings"][0]["taken at"] == TAKEN_LOCAL
    assert data["dose history"][0]["medication"] == "Metformin"
    assert data["dose history"][0]["outcome at"] == TAKEN_LOCAL
    assert {m["name"]: m["active"] for m in data["medications"]} == {"Metformin": True,
                                                                       "Ramipril": False}
    assert data["medications"][0]["schedules"][0]["times of day"] == ["08:00"]
    assert data["medications"][0]["if a dose is missed"] == "Take it when you remember."
    assert data["care team"] == "Ward 7"
    assert data["profile"]["time zone"] == ZONE
    assert data["chat links"][0]["reachable"] is True
    assert data["enrolment codes"][0]["used at"] is not None
    assert data["advice received"][0]["day"] == "2027-01-05"
    assert data["messages sent to you"][0]["text"] == "Time for Metformin"
    assert data["alerts to the care team"][0]["summary"] == "Feels dizzy after lunch"
    assert "chat.link" in [e["action"] for e in data["who accessed or changed your data"]]
    for secret in (enrolment.code_hash(code), code, "555000111", patient.chat_ref):
        assert secret not in text
    times = [s for s in _strings(data) if re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", s)]
    assert len(times) > 10 and all(t.endswith("+05:30") for t in times)

    exports = any_db.exec(select(AuditEntry).where(AuditEntry.patient_id == patient.id,
                                                   AuditEntry.action == "patient.export")).all()
    assert [e.actor for e in exports] == ["member:1"]


def _count(db: Session, table: Table, column: str, value: object) -> int:
    query = core_select(func.count()).select_from(table).where(table.c[column] == value)
    return int(db.connection().execute(query).scalar_one())


def test_erase_removes_every_row_and_keeps_one_audit_entry(any_db: Session,
                                                           tmp_path: Path) -> None:
    team = _team(any_db)
    gone, _ = _build(any_db, team, "Ada", "Metformin", "555000111")
    kept, _ = _build(any_db, team, "Bob", "Insulin", "555000222")
    meds = {p.id: any_db.exec(select(Medication.id).where(Medication.patient_id == p.id)).one()
            for p in (gone, kept)}

    privacy.erase(any_db, gone, actor="member:1")
    any_db.commit()

    tables = [t for t in SQLModel.metadata.sorted_tables
              if "patient_id" in t.c and t.name != "audit_log"]
    assert len(tables) >= 8
    for table in tables:
        assert _count(any_db, table, "patient_id", gone.id) == 0, table.name
        assert _count(any_db, table, "patient_id", kept.id) > 0, table.name
    patients_table = SQLModel.metadata.tables["patients"]
    schedules_table = SQLModel.metadata.tables["dose_schedules"]
    attempts_table = SQLModel.metadata.tables["enrolment_attempts"]
    assert _count(any_db, patients_table, "id", gone.id) == 0
    assert _count(any_db, patients_table, "id", kept.id) == 1
    assert _count(any_db, schedules_table, "medication_id", meds[gone.id]) == 0
    assert _count(any_db, schedules_table, "medication_id", meds[kept.id]) == 1
    assert _count(any_db, attempts_table, "chat_id", "555000111") == 0
    assert _count(any_db, attempts_table, "chat_id", "555000222") == 1

    entries = any_db.exec(select(AuditEntry).where(AuditEntry.patient_id == gone.id)).all()
    assert [(e.action, e.actor, e.detail) for e in entries] == [("patient.erase", "member:1", "")]
    assert len(any_db.exec(select(AuditEntry).where(AuditEntry.patient_id == kept.id)).all()) > 1
    # No tracker store yet: nothing to delete, and none created.
    assert not (tmp_path / "var" / "rasa_tracker.db").exists()


def test_erase_deletes_the_conversation_from_the_tracker_store(any_db: Session,
                                                               any_db_url: str,
                                                               tmp_path: Path) -> None:
    """Where engine.py points Rasa: a file in the data directory on SQLite, the
    application database on PostgreSQL."""
    team = _team(any_db)
    patient, _ = _build(any_db, team, "Ada", "Metformin", "555000111")
    if any_db_url.startswith("sqlite"):
        (tmp_path / "var").mkdir(exist_ok=True)
        url = f"sqlite:///{tmp_path / 'var' / 'rasa_tracker.db'}"
    else:
        url = any_db_url
    events = Table("events", MetaData(), Column("id", Integer, primary_key=True),
                   Column("sender_id", String(255), nullable=False),
                   Column("type_name", String(255)))
    tracker = dbmod.make_engine(url)
    try:
        events.create(tracker)
        with tracker.begin() as conn:
            conn.execute(insert(events), [
                {"sender_id": patient.chat_ref, "type_name": "user"},
                {"sender_id": patient.chat_ref, "type_name": "bot"},
                {"sender_id": "someone-else", "type_name": "user"},
            ])

        privacy.erase(any_db, patient, actor="member:1")
        any_db.commit()

        with tracker.connect() as conn:
            left = conn.execute(core_select(events.c.sender_id)).scalars().all()
        assert left == ["someone-else"]
    finally:
        tracker.dispose()
