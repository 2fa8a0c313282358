"""`careloop readings import PATIENT FILE`: a patient's readings from an Apple Health
export (`export.zip` or `export.xml`), a CSV or a FHIR JSON document, with a progress bar.

The file is read as a stream and stored in chunks, each its own unit of work: an import
cut short can be run again, and stores only what is missing (the same reading is stored
once). Refused entries are listed with their place and reason; the others are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from assistant.errors import CareLoopError
from assistant.services import imports, ingest, patients
from assistant.storage.db import session, utcnow

readings_app = typer.Typer(help="Readings from devices and files.", no_args_is_help=True)

ACTOR = "cli"
CHUNK = 1000
SHOWN_REFUSALS = 20
# What each reader's entries come from, and what a refused entry's index counts.
_SOURCES = {imports.apple_health: ("apple_health", "record"),
            imports.csv_rows: ("csv", "line"), imports.fhir_file: ("fhir", "entry")}
T = TypeVar("T")


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _position(stream: IO[Any]) -> int:
    # A text stream cannot tell() while csv iterates it; its byte buffer can.
    return int(getattr(stream, "buffer", stream).tell())


@readings_app.command("import")
def import_readings(
    patient: Annotated[int, typer.Argument(help="patient id")],
    file: Annotated[Path, typer.Argument(
        help="Apple Health export.zip or export.xml, a CSV "
             "(effective_at,measure,value,value2,unit,device,identifier) or FHIR JSON")],
) -> None:
    """Import a patient's readings from a file; running it again stores nothing twice."""
    try:
        stored, duplicates, refused, shown = _import(patient, file)
    except CareLoopError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for line in shown:
        typer.echo(f"refused {line}")
    if refused > len(shown):
        typer.echo(f"... and {refused - len(shown)} more refused")
    typer.echo(f"{stored} stored, {duplicates} already stored, {refused} refused")


def _import(patient_id: int, file: Path) -> tuple[int, int, int, list[str]]:
    """Counts of stored, duplicate and refused entries, and the first refusals."""
    with session() as db:
        patient = patients.get_patient(db, patient_id)
    stored = duplicates = refused = 0
    shown: list[str] = []
    now = utcnow()
    with imports.opened(file) as (reader, stream, size):
        source, place = _SOURCES[reader]
        bar = Progress(TextColumn(f"importing {file.name}"), BarColumn(), DownloadColumn(),
                       TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        with bar:
            task = bar.add_task("import", total=size)
            for chunk in _chunks(reader(stream, now=now), CHUNK):
                with session() as db:
                    outcome = ingest.store(db, patient=patient, entries=chunk,
                                           source=source, actor=ACTOR, now=now)
                stored, duplicates = stored + outcome.stored, duplicates + outcome.duplicates
                refused += len(outcome.refused)
                # Counts only beyond what is shown: an export holds millions of records.
                shown.extend(f"{place} {index}: {reason}" for index, reason in
                             outcome.refused[:SHOWN_REFUSALS - len(shown)])
                bar.update(task, completed=_position(stream))
    return stored, duplicates, refused, shown
