"""Readings from files: an Apple Health export (`export.zip` or its `export.xml`), a CSV,
or a FHIR JSON document, each read as a stream of (index, observation or refusal).

**Apple Health** exports are hundreds of megabytes: the XML is read with `iterparse` and
every element is dropped once read, so memory stays flat. Records of these types become
readings: HeartRate, RestingHeartRate, BodyMass, BloodGlucose, OxygenSaturation (Apple
writes a fraction: 0.97 is 97 %), BodyTemperature, RespiratoryRate, StepCount; blood
pressure is the `HKCorrelationTypeIdentifierBloodPressure` correlation, its systolic and
diastolic records paired (the copies of those records outside it are skipped). The device
is the record's `sourceName`; the effective time its `startDate`. Other types are skipped.
The index of a refused record is its position among the records CareLoop reads (from 0).

**CSV** (UTF-8, a header line) has the columns
`effective_at,measure,value,value2,unit,device,identifier`: `effective_at` ISO 8601 with
its offset; `measure` a name (weight, glucose, blood_pressure, pulse or heart_rate,
resting_heart_rate, spo2, temperature, respiratory_rate, steps) or a LOINC code; `unit`
UCUM (empty: the measure's own unit); `value2` the diastolic; `device`, `identifier`
optional. The index of a refused row is its line number (the header is line 1).
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, iterparse

from sqlmodel import Session

from assistant.domain import measures
from assistant.errors import InvalidInput
from assistant.services import ingest, observations
from assistant.services.ingest import Candidate, Refused, candidate
from assistant.storage.models import Patient

__all__ = ["APPLE_TYPES", "CSV_COLUMNS", "Entries", "Summary", "apple_health", "csv_rows",
           "opened", "store_file"]

Entries = Iterator[tuple[int, Candidate | Refused]]
CSV_COLUMNS = ("effective_at", "measure", "value", "value2", "unit", "device", "identifier")
_HK = "HKQuantityTypeIdentifier"
_BP = "HKCorrelationTypeIdentifierBloodPressure"
_SYSTOLIC, _DIASTOLIC = f"{_HK}BloodPressureSystolic", f"{_HK}BloodPressureDiastolic"
_PER_MIN = {"count/min": "/min"}
# Apple's type -> LOINC code per Apple unit (as UCUM), and a factor on the value.
APPLE_TYPES: dict[str, dict[str, tuple[str, str, float]]] = {
    f"{_HK}HeartRate": {"count/min": ("8867-4", "/min", 1)},
    f"{_HK}RestingHeartRate": {"count/min": ("40443-4", "/min", 1)},
    f"{_HK}BodyMass": {"kg": ("29463-7", "kg", 1), "lb": ("29463-7", "[lb_av]", 1),
                       "g": ("29463-7", "g", 1)},
    f"{_HK}BloodGlucose": {"mg/dL": ("2339-0", "mg/dL", 1),
                           "mmol<180.1558800000541>/L": ("15074-8", "mmol/L", 1)},
    f"{_HK}OxygenSaturation": {"%": ("59408-5", "%", 100)},
    f"{_HK}BodyTemperature": {"degC": ("8310-5", "Cel", 1), "degF": ("8310-5", "[degF]", 1)},
    f"{_HK}RespiratoryRate": {"count/min": ("9279-1", "/min", 1)},
    f"{_HK}StepCount": {"count": ("55423-8", "{steps}", 1)},
}


def _apple_time(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text or "", "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        raise Refused(f"startDate: {text!r} is not a time as Apple writes it "
                      "(2024-01-31 08:00:00 +0100)") from None


def _number(text: str | None, where: str) -> float:
    try:
        return float(text or "")
    except ValueError:
        raise Refused(f"{where}: {text!r} is not a number") from None


def _apple_record(record: Element, now: datetime) -> Candidate:
    kind, unit = record.get("type", ""), record.get("unit", "")
    known = APPLE_TYPES[kind].get(unit)
    if known is None:
        raise Refused(f"unit: {unit!r} is not a unit CareLoop reads for {kind}")
    code, ucum, factor = known
    return candidate(code=code, value=_number(record.get("value"), "value") * factor,
                     unit=ucum, taken_at=_apple_time(record.get("startDate")), now=now,
                     device=record.get("sourceName"), where="startDate")


def _apple_bp(correlation: Element, now: datetime) -> Candidate:
    halves = {r.get("type"): r for r in correlation.iter("Record")}
    if _SYSTOLIC not in halves or _DIASTOLIC not in halves:
        raise Refused("Correlation: a blood pressure needs its systolic and diastolic records")
    values = [_number(halves[t].get("value"), "value") for t in (_SYSTOLIC, _DIASTOLIC)]
    units = {halves[t].get("unit") for t in (_SYSTOLIC, _DIASTOLIC)}
    if units != {"mmHg"}:
        raise Refused(f"unit: blood pressure in {', '.join(sorted(map(str, units)))}, not mmHg")
    return candidate(code=measures.BP_PANEL, value=values[0], value2=values[1],
                     unit="mm[Hg]", taken_at=_apple_time(correlation.get("startDate")),
                     now=now, device=correlation.get("sourceName"), where="startDate")


def apple_health(stream: IO[bytes], *, now: datetime) -> Entries:
    """The readings of an Apple Health `export.xml`, read as a stream."""
    index, depth, root = 0, 0, None
    for event, element in iterparse(stream, events=("start", "end")):
        if event == "start":
            root = element if root is None else root
            depth += 1
            continue
        depth -= 1
        if depth != 1:  # inside a top-level element: kept until that element ends
            continue
        entry: Candidate | Refused | None = None
        kind = element.get("type", "")
        try:
            if element.tag == "Correlation" and kind == _BP:
                entry = _apple_bp(element, now)
            elif element.tag == "Record" and kind in APPLE_TYPES:
                entry = _apple_record(element, now)
        except Refused as exc:
            entry = exc
        if root is not None:
            root.clear()  # drops the elements read so far: memory stays flat
        if entry is not None:
            yield index, entry
            index += 1


def _csv_row(row: dict[str, str | None], now: datetime) -> Candidate:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    name, unit = cell("measure"), cell("unit")
    code = measures.code_for(name, unit)
    unit = unit or measures.measure_of(code).ucum
    try:
        taken_at = datetime.fromisoformat(cell("effective_at"))
    except ValueError:
        raise Refused(f"effective_at: {cell('effective_at')!r} is not an ISO 8601 time "
                      "(2027-03-01T08:00:00+01:00)") from None
    value2 = _number(cell("value2"), "value2") if cell("value2") else None
    return candidate(code=code, value=_number(cell("value"), "value"), unit=unit,
                     value2=value2, taken_at=taken_at, now=now, device=cell("device"),
                     identifier=cell("identifier"), where="effective_at")


def csv_rows(stream: IO[str], *, now: datetime) -> Entries:
    """The readings of a CSV file with the documented columns, row by row."""
    reader = csv.DictReader(stream)
    missing = {"effective_at", "measure", "value"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidInput(f"columns: the header needs {', '.join(sorted(missing))}; the "
                           f"columns are {','.join(CSV_COLUMNS)}")
    for row in reader:
        try:
            yield reader.line_num, _csv_row(row, now)
        except Refused as exc:
            yield reader.line_num, exc


def fhir_file(stream: IO[bytes], *, now: datetime) -> Entries:
    """The observations of a FHIR JSON document (an Observation or a Bundle)."""
    try:
        document: Any = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"file: not a JSON document ({exc})") from None
    return observations.parse(document, now=now)


Reader = Callable[..., Entries]


@contextmanager
def opened(path: Path) -> Iterator[tuple[Reader, IO[Any], int]]:
    """The reader for a file (by its suffix), its open stream and its size in bytes (for a
    progress bar: the stream's `tell()` says how far it is)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInput(f"file: {path} is not a file")
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            inner = [i for i in archive.infolist()
                     if i.filename.rsplit("/", 1)[-1] == "export.xml"]
            if not inner:
                raise InvalidInput(f"file: {path.name} has no export.xml: is it Apple "
                                   "Health's export.zip?")
            with archive.open(inner[0]) as stream:
                yield apple_health, stream, inner[0].file_size
        return
    readers: dict[str, tuple[Reader, str]] = {
        ".xml": (apple_health, "rb"), ".json": (fhir_file, "rb"), ".csv": (csv_rows, "r")}
    if suffix not in readers:
        raise InvalidInput(f"file: {path.name}: give an Apple Health export (.zip or .xml), "
                           "a FHIR document (.json) or a CSV (.csv)")
    reader, mode = readers[suffix]
    size = path.stat().st_size
    if mode == "r":
        with path.open(encoding="utf-8-sig", newline="") as text:
            yield reader, text, size
    else:
        with path.open("rb") as binary:
            yield reader, binary, size


# What each reader's entries come from, and what a refused entry's index counts.
_SOURCES: dict[Reader, tuple[str, str]] = {
    apple_health: ("apple_health", "record"), csv_rows: ("csv", "line"),
    fhir_file: ("fhir", "entry")}


@dataclass
class Summary:
    """What became of a file's entries: counts, and the first refusals with their place."""
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    shown: list[str] = field(default_factory=list)


def store_file(db: Session, *, patient: Patient, path: Path, actor: str, now: datetime,
               chunk: int = 1000, shown: int = 20) -> Summary:
    """Store a file's readings (the reader chosen by its suffix), committing each chunk so
    that a long import holds no long transaction and, cut short, stores only what is missing
    when run again."""
    summary = Summary()
    with opened(path) as (reader, stream, _):
        source, place = _SOURCES[reader]
        entries = reader(stream, now=now)
        while batch := list(islice(entries, chunk)):
            outcome = ingest.store(db, patient=patient, entries=batch, source=source,
                                   actor=actor, now=now)
            db.commit()
            summary.stored += outcome.stored
            summary.duplicates += outcome.duplicates
            summary.refused += len(outcome.refused)
            summary.shown.extend(f"{place} {index}: {reason}" for index, reason in
                                 outcome.refused[:shown - len(summary.shown)])
    return summary
