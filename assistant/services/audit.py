"""The audit log: who read or changed which patient's data, and when, for which team;
writing its entries and reading a team's.

A change's entry is part of the change's unit of work: it commits (or not) with it.
A read's entry must not make the read wait for the write lock (a busy database must not
stop a nurse from seeing a plan): `record_read` writes it at once on a connection of its
own when the database is free, and otherwise hands it to a background writer that
retries until the database takes it. Entries waiting for that writer live in this
process's memory only: if the process is killed first they are lost; a normal exit
waits for them up to the busy timeout and logs how many could not be written.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select

from assistant.config import get_settings
from assistant.storage.db import brief_write, engine_of, is_unavailable, utcnow
from assistant.storage.models import AuditEntry, Patient, TeamMember

log = logging.getLogger(__name__)

# How long a read's entry may wait for the lock before it is left to the background writer.
READ_WAIT_SECONDS = 0.25
DETAIL_CHARS = 500  # the column's width
_RETRY_SECONDS = 0.5


def _team_of(db: Session, actor: str, patient_id: int | None) -> int | None:
    """The team that may read the entry: the acting member's, else the patient's."""
    kind, _, number = actor.partition(":")
    if kind == "member" and number.isdigit():
        member = db.get(TeamMember, int(number))
        if member is not None:
            return member.team_id
    patient = db.get(Patient, patient_id) if patient_id is not None else None
    return patient.team_id if patient is not None else None


def _values(db: Session, *, actor: str, action: str, patient_id: int | None, detail: str,
            team_id: int | None) -> dict[str, Any]:
    if team_id is None:
        team_id = _team_of(db, actor, patient_id)
    return {"at": utcnow(), "actor": actor, "action": action, "patient_id": patient_id,
            "team_id": team_id, "detail": detail[:DETAIL_CHARS]}


def record(db: Session, *, actor: str, action: str, patient_id: int | None = None,
           detail: str = "", team_id: int | None = None) -> None:
    """Add a change's entry to the unit of work; it commits (or not) with the change.
    `team_id` when neither the actor (a member) nor the patient names the team."""
    db.add(AuditEntry(**_values(db, actor=actor, action=action, patient_id=patient_id,
                                detail=detail, team_id=team_id)))


def record_read(db: Session, *, actor: str, action: str, patient_id: int | None = None,
                detail: str = "", team_id: int | None = None) -> None:
    """Write a read's entry without making the read wait for the write lock."""
    _writer.write(engine_of(db), _values(db, actor=actor, action=action, patient_id=patient_id,
                                         detail=detail, team_id=team_id))


def list_detail(patient_ids: Sequence[int], *, limit: int = DETAIL_CHARS) -> str:
    """"12 patients: 3,5,9" -- cut with "…" (and still saying how many) to fit the column."""
    head = f"{len(patient_ids)} patient{'' if len(patient_ids) == 1 else 's'}"
    if not patient_ids:
        return head
    text = f"{head}: " + ",".join(str(pid) for pid in patient_ids)
    if len(text) <= limit:
        return text
    return text[:limit - 2].rsplit(",", 1)[0] + ",…"


def record_list_view(db: Session, *, actor: str, action: str, patient_ids: Sequence[int],
                     team_id: int | None = None) -> None:
    """One entry for a list shown (a page of patients or alerts), naming the patients on
    it: one row per view, never one per patient."""
    shown = list(dict.fromkeys(patient_ids))  # a patient with 3 alerts on the page: once
    record_read(db, actor=actor, action=action, detail=list_detail(shown), team_id=team_id)


def audit_entries(db: Session, team_id: int, *, patient_id: int | None = None,
                  limit: int = 500) -> list[AuditEntry]:
    """The team's audit log: what its members did, and anything about its patients (each
    entry names its team: a patient id alone could be an erased patient's of another)."""
    query = select(AuditEntry).where(AuditEntry.team_id == team_id)
    if patient_id is not None:
        query = query.where(AuditEntry.patient_id == patient_id)
    return list(db.exec(query.order_by(col(AuditEntry.at).desc()).limit(limit)).all())


def _insert(engine: Engine, rows: list[dict[str, Any]], *,
            wait_seconds: float | None = None) -> None:
    """Insert at once, waiting `wait_seconds` at most (else the engine's busy timeout)."""
    writing = brief_write(engine, wait_seconds=wait_seconds) if wait_seconds else engine.begin()
    with writing as conn:
        conn.execute(insert(AuditEntry), rows)


class _Writer:
    """Entries the database could not take at once, written as soon as it can."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: list[tuple[Engine, dict[str, Any]]] = []
        self._thread: threading.Thread | None = None

    def write(self, engine: Engine, row: dict[str, Any]) -> None:
        with self._changed:
            behind_others = any(waiting is engine for waiting, _ in self._waiting)
        if not behind_others:
            try:
                _insert(engine, [row], wait_seconds=READ_WAIT_SECONDS)
                return
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
        with self._changed:
            self._waiting.append((engine, row))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-writer",
                                                daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._waiting:
                    self._changed.wait()
                engine = self._waiting[0][0]
                batch = [item for item in self._waiting if item[0] is engine]
            try:
                _insert(engine, [row for _, row in batch])  # nobody waits for this thread
            except Exception as exc:
                if is_unavailable(exc):
                    time.sleep(_RETRY_SECONDS)
                    continue
                log.error("%d audit entries of reads could not be written (%s); dropped",
                          len(batch), type(exc).__name__)
            with self._changed:
                done = {id(item) for item in batch}
                self._waiting = [item for item in self._waiting if id(item) not in done]
                self._changed.notify_all()

    def drain(self, timeout: float) -> int:
        """Wait until every entry is written, at most `timeout` seconds; how many are left."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._waiting and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return len(self._waiting)


_writer = _Writer()


@atexit.register
def _drain_at_exit() -> None:
    if not _writer.drain(0):
        return
    left = _writer.drain(get_settings().db_busy_timeout_seconds + 1)
    if left:
        log.error("%d audit entries of reads were lost: the database stayed busy until exit",
                  left)


def member_names(db: Session, actors: Iterable[str]) -> dict[str, str]:
    """"member:3" → "Ada Nurse" for the actors that name a member, in one query; other
    actors ("patient", "cli", "system") stand for themselves."""
    ids = {int(number) for kind, _, number in (a.partition(":") for a in actors)
           if kind == "member" and number.isdecimal()}
    if not ids:
        return {}
    found = db.exec(select(TeamMember.id, TeamMember.name).where(col(TeamMember.id).in_(ids)))
    return {f"member:{member_id}": name for member_id, name in found}
