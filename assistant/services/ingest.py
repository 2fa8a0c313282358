"""Observations from devices and records (FHIR, Apple Health, CSV) stored as readings: each
one checked on its own, the good ones stored once, the bad ones refused with their place.

Every source turns its entries into `Candidate`s (or a `Refused` naming why); `store`
inserts them, one multi-row statement for each batch of 500, with "insert or ignore" on
the readings' unique indexes, so a device that resends, or a file imported twice, stores
nothing new. A duplicate is answered as
accepted, with the id of the reading already stored, so that a device stops resending.

After a batch that stored something new, monitoring evaluates the patient
(`services.monitoring`): a duplicate stores nothing and so alerts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from assistant.domain import measures
from assistant.domain.measures import Refused
from assistant.services import audit, monitoring
from assistant.storage.db import insert_or_ignore, utcnow
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
    """ "Insert or ignore" returning the rows it stored with what tells them apart (in no
    promised order), so that each is matched to its candidate."""
    table = Reading.__table__  # type: ignore[attr-defined]
    return insert_or_ignore(db, table).returning(table.c.id, *(table.c[name] for name in _KEY))


_KEY = ("identifier", "device", "code", "taken_at")
BATCH = 500  # rows a statement: 11 parameters each, far below SQLite's and PostgreSQL's limits


def _key(item: Candidate) -> tuple[Any, ...]:
    return (item.identifier, item.device, item.code, item.taken_at)


def _existing(db: Session, patient_id: int, items: list[Candidate]) -> dict[int, int]:
    """The id of the reading each of `items` (by position) duplicates."""
    found: dict[int, int] = {}
    identifiers = {item.identifier for item in items if item.identifier is not None}
    if identifiers:
        by_identifier = dict(db.exec(
            select(Reading.identifier, Reading.id).where(
                Reading.patient_id == patient_id,
                col(Reading.identifier).in_(identifiers))).all())
        found = {n: by_identifier[item.identifier] for n, item in enumerate(items)
                 if item.identifier in by_identifier}
    for n, item in enumerate(items):
        if n in found:
            continue
        same = db.exec(select(Reading.id).where(
            Reading.patient_id == patient_id, Reading.device == item.device,
            Reading.code == item.code, col(Reading.taken_at) == item.taken_at)).first()
        if same is None:  # pragma: no cover - the insert was ignored for one of the two
            raise RuntimeError("an ignored reading has no duplicate")
        found[n] = same
    return found


def _store_batch(db: Session, stmt: Any, *, patient_id: int, batch: list[tuple[int, Candidate]],
                 source: str, now: datetime) -> list[tuple[int, int, bool]]:
    """Insert a batch in one statement; each entry's index, reading id and whether it was
    already stored (before, or earlier in this batch: the first of the same stays)."""
    rows = [{"patient_id": patient_id, "kind": item.kind, "code": item.code,
             "value": item.value, "value2": item.value2, "unit": item.unit,
             "taken_at": item.taken_at, "received_at": now, "source": source,
             "device": item.device, "identifier": item.identifier} for _, item in batch]
    stored: dict[tuple[Any, ...], list[int]] = {}
    # Many parameter sets: SQLAlchemy sends them as multi-row INSERTs ("insertmanyvalues")
    # from one cached compiled statement.
    for new_id, *key in db.execute(stmt, rows).all():
        stored.setdefault(tuple(key), []).append(new_id)
    for alike in stored.values():
        alike.sort(reverse=True)  # rows alike (no identifier, no device) take ids in order
    accepted: dict[int, tuple[int, int, bool]] = {}  # by position in the batch
    ignored: list[int] = []
    for position, (index, item) in enumerate(batch):
        ids = stored.get(_key(item))
        if ids:  # stored by this statement
            accepted[position] = (index, ids.pop(), False)
        else:
            ignored.append(position)
    if ignored:
        same = _existing(db, patient_id, [batch[position][1] for position in ignored])
        for n, position in enumerate(ignored):
            accepted[position] = (batch[position][0], same[n], True)
    return [accepted[position] for position in range(len(batch))]


def store(db: Session, *, patient: Patient, entries: Iterable[tuple[int, Candidate | Refused]],
          source: str, actor: str, now: datetime | None = None) -> Outcome:
    """Store the candidates, once each, in the caller's unit of work; list the refused."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    now = now or utcnow()
    stmt, outcome = _insert(db), Outcome()
    batch: list[tuple[int, Candidate]] = []
    for index, entry in entries:
        if isinstance(entry, Refused):
            outcome.refused.append((index, str(entry)))
            continue
        batch.append((index, entry))
        if len(batch) == BATCH:
            outcome.accepted += _store_batch(db, stmt, patient_id=patient.id, batch=batch,
                                             source=source, now=now)
            batch = []
    if batch:
        outcome.accepted += _store_batch(db, stmt, patient_id=patient.id, batch=batch,
                                         source=source, now=now)
    audit.record(db, actor=actor, action="observations.add", patient_id=patient.id,
                 detail=f"{source}: {outcome.stored} stored, {outcome.duplicates} already "
                        f"stored, {len(outcome.refused)} refused")
    if outcome.stored:
        monitoring.evaluate(db, patient=patient, now=now)
    return outcome
