"""Observations from devices and records (FHIR, Apple Health, CSV) stored as readings: each
one checked on its own, the good ones stored once, the bad ones refused with their place.

Every source turns its entries into `Candidate`s (or a `Refused` naming why); `store`
inserts them with "insert or ignore" on the readings' unique indexes, so a device that
resends, or a file imported twice, stores nothing new. A duplicate is answered as
accepted, with the id of the reading already stored, so that a device stops resending.

After a batch that stored something new, monitoring evaluates the patient
(`services.monitoring`): a duplicate stores nothing and so alerts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from assistant.domain import measures
from assistant.domain.measures import Refused
from assistant.services import audit, monitoring
from assistant.storage.db import utcnow
from assistant.storage.models import Patient, Reading

__all__ = ["Candidate", "Outcome", "Refused", "candidate", "store"]

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)  # a device clock running a little fast
DEVICE_CHARS, IDENTIFIER_CHARS = 120, 255
SOURCES = ("chat", "console", "api", "fhir", "apple_health", "csv")


@dataclass(frozen=True)
class Candidate:
    """One observation ready to store: canonical unit, UTC effective time."""
    kind: str
    code: str
    value: float
    value2: float | None
    unit: str
    taken_at: datetime
    device: str | None = None
    identifier: str | None = None


@dataclass
class Outcome:
    """What became of each entry, by its index in what was sent."""
    accepted: list[tuple[int, int, bool]] = field(default_factory=list)  # index, id, duplicate
    refused: list[tuple[int, str]] = field(default_factory=list)          # index, reason

    @property
    def stored(self) -> int:
        return sum(1 for _, _, duplicate in self.accepted if not duplicate)

    @property
    def duplicates(self) -> int:
        return len(self.accepted) - self.stored

    def add(self, other: Outcome) -> None:
        self.accepted.extend(other.accepted)
        self.refused.extend(other.refused)


def effective(moment: datetime | None, *, now: datetime, where: str = "effective") -> datetime:
    """The effective time in UTC: with its offset, from 1900 until now."""
    if moment is None:
        raise Refused(f"{where}: the observation has no time: give when it was measured")
    if moment.utcoffset() is None:
        raise Refused(f"{where}: give the time with its UTC offset, e.g. "
                      "2027-03-01T08:00:00+01:00")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00: no such instant in UTC
        utc = EARLIEST - timedelta(days=1)
    if utc < EARLIEST:
        raise Refused(f"{where}: {moment.isoformat()} is before 1900")
    if utc > now + CLOCK_SKEW:
        raise Refused(f"{where}: an observation cannot be measured in the future")
    return utc


def _text(value: str | None, limit: int, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise Refused(f"{what}: longer than {limit} characters")
    return value


def candidate(*, code: str, value: float, unit: str, taken_at: datetime | None,
              now: datetime, value2: float | None = None, unit2: str | None = None,
              device: str | None = None, identifier: str | None = None,
              where: str = "effective") -> Candidate:
    """An observation as sent (LOINC code, UCUM unit), checked and made canonical;
    `Refused` with the reason otherwise. Blood pressure is the panel with both values.
    `where` names the effective time's field in refusals."""
    measure = measures.measure_of(code)
    number = measures.canonical(code, value, unit)
    second = None
    if measure.name == "blood_pressure":
        if value2 is None:
            raise Refused("component: blood pressure needs the systolic "
                          f"({measures.SYSTOLIC}) and the diastolic ({measures.DIASTOLIC})")
        second = measures.canonical(measures.DIASTOLIC, value2, unit2 or unit)
        number, second = measures.blood_pressure(number, second)
    else:
        measures.check_range(measure, number)
    return Candidate(kind=measure.name, code=code, value=round(number, 3),
                     value2=second, unit=measure.label,
                     taken_at=effective(taken_at, now=now, where=where),
                     device=_text(device, DEVICE_CHARS, "device"),
                     identifier=_text(identifier, IDENTIFIER_CHARS, "identifier"))


def _insert(db: Session) -> Any:
    table = Reading.__table__  # type: ignore[attr-defined]
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(table)
    return stmt.returning(table.c.id)


def _existing(db: Session, patient_id: int, item: Candidate) -> int:
    """The id of the reading `item` duplicates."""
    query = select(Reading.id).where(Reading.patient_id == patient_id)
    if item.identifier is not None:
        found = db.exec(query.where(Reading.identifier == item.identifier)).first()
        if found is not None:
            return found
    found = db.exec(query.where(Reading.device == item.device, Reading.code == item.code,
                                col(Reading.taken_at) == item.taken_at)).first()
    if found is None:  # pragma: no cover - the insert was ignored for one of the two
        raise RuntimeError("an ignored reading has no duplicate")
    return found


def store(db: Session, *, patient: Patient, entries: Iterable[tuple[int, Candidate | Refused]],
          source: str, actor: str, now: datetime | None = None) -> Outcome:
    """Store the candidates, once each, in the caller's unit of work; list the refused."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    now = now or utcnow()
    stmt, outcome = _insert(db), Outcome()
    for index, entry in entries:
        if isinstance(entry, Refused):
            outcome.refused.append((index, str(entry)))
            continue
        row = {"patient_id": patient.id, "kind": entry.kind, "code": entry.code,
               "value": entry.value, "value2": entry.value2, "unit": entry.unit,
               "taken_at": entry.taken_at, "received_at": now, "source": source,
               "device": entry.device, "identifier": entry.identifier}
        new_id = db.execute(stmt, row).scalar()
        if new_id is None:
            outcome.accepted.append((index, _existing(db, patient.id, entry), True))
        else:
            outcome.accepted.append((index, new_id, False))
    audit.record(db, actor=actor, action="observations.add", patient_id=patient.id,
                 detail=f"{source}: {outcome.stored} stored, {outcome.duplicates} already "
                        f"stored, {len(outcome.refused)} refused")
    if outcome.stored:
        monitoring.evaluate(db, patient=patient, now=now)
    return outcome
