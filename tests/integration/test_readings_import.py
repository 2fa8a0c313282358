"""`careloop readings import`: Apple Health exports (zip and xml, streamed), CSV and FHIR
files, on a real database; refused entries listed with their place; imports idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from assistant.interfaces.cli import app
from assistant.services import imports
from assistant.storage import db as dbmod
from assistant.storage.models import Reading
from tests import apple_health as ah
from tests.observation_docs import blood_pressure, bundle, observation

runner = CliRunner()
CET = timezone(timedelta(hours=1))
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=CET)


def careloop(*args: str, ok: bool = True) -> str:
    result = runner.invoke(app, list(args))
    assert (result.exit_code == 0) == ok, result.output
    return result.output.strip()


@pytest.fixture
def patient_id(any_db_url: str) -> str:
    careloop("team", "add", "Ward 7")
    return careloop("patient", "add", "--team", "Ward 7", "--name", "Ada")


def _readings() -> list[tuple[str, str, float, float | None, str | None, str]]:
    with Session(dbmod.get_engine()) as db:
        return [(r.kind, r.code, r.value, r.value2, r.device, r.source) for r in
                db.exec(select(Reading).order_by(Reading.taken_at, Reading.kind)).all()]


def _small_export(tmp_path: Path) -> Path:
    t = T0
    return ah.write(tmp_path / "export.xml", "".join([
        ah.record("HeartRate", "count/min", "72", t, metadata=True),
        ah.blood_pressure(141, 92, t + timedelta(minutes=1)),
        ah.record("BodyMass", "lb", "180", t + timedelta(minutes=2), source="Withings"),
        ah.record("BloodGlucose", "mg/dL", "108", t + timedelta(minutes=3)),
        ah.record("OxygenSaturation", "%", "0.97", t + timedelta(minutes=4)),
        ah.record("BodyTemperature", "degF", "100.4", t + timedelta(minutes=5)),
        ah.record("RespiratoryRate", "count/min", "16", t + timedelta(minutes=6)),
        ah.record("RestingHeartRate", "count/min", "58", t + timedelta(minutes=7)),
        ah.record("StepCount", "count", "812", t + timedelta(minutes=8)),
        ah.record("DietaryWater", "mL", "250", t + timedelta(minutes=9)),   # not kept
        ah.record("BodyMass", "kg", "4000", t + timedelta(minutes=10)),      # refused
        ah.record("HeartRate", "count/s", "1.2", t + timedelta(minutes=11)),  # refused
    ]))


EXPECTED = [
    ("pulse", "8867-4", 72, None, "Ada’s Watch", "apple_health"),
    ("blood_pressure", "85354-9", 141, 92, "OMRON connect", "apple_health"),
    ("weight", "29463-7", 81.647, None, "Withings", "apple_health"),
    ("glucose", "2339-0", 5.995, None, "Ada’s Watch", "apple_health"),
    ("spo2", "59408-5", 97, None, "Ada’s Watch", "apple_health"),
    ("temperature", "8310-5", 38, None, "Ada’s Watch", "apple_health"),
    ("respiratory_rate", "9279-1", 16, None, "Ada’s Watch", "apple_health"),
    ("resting_heart_rate", "40443-4", 58, None, "Ada’s Watch", "apple_health"),
    ("steps", "55423-8", 812, None, "Ada’s Watch", "apple_health")]


@pytest.mark.parametrize("packed", ["xml", "zip"])
def test_an_apple_health_export_is_imported_once_with_bp_paired(
        patient_id: str, tmp_path: Path, packed: str) -> None:
    path = _small_export(tmp_path)
    if packed == "zip":
        path = ah.zipped(path, tmp_path / "export.zip")
    out = careloop("readings", "import", patient_id, str(path))
    assert out.splitlines() == [
        "refused record 9: value: 4000 kg is not a plausible weight (20 to 350 kg)",
        "refused record 10: unit: 'count/s' is not a unit CareLoop reads for "
        "HKQuantityTypeIdentifierHeartRate",
        "9 stored, 0 already stored, 2 refused"]
    assert _readings() == EXPECTED
    again = careloop("readings", "import", patient_id, str(path))
    assert again.splitlines()[-1] == "0 stored, 9 already stored, 2 refused"
    assert _readings() == EXPECTED


def test_a_csv_with_the_documented_columns(patient_id: str, tmp_path: Path) -> None:
    path = tmp_path / "readings.csv"
    path.write_text(
        "effective_at,measure,value,value2,unit,device,identifier\n"
        "2026-03-01T08:00:00+01:00,blood_pressure,150,95,mm[Hg],cuff-1,r-1\n"
        "2026-03-01T08:00:00+01:00,glucose,108,,mg/dL,,r-2\n"
        "2026-03-01T08:05:00+01:00,heart_rate,64,,,watch,\n"
        "2026-03-01T08:06:00+01:00,29463-7,81.5,,kg,scale,\n"
        "2026-03-01T08:07:00,weight,81.5,,kg,scale,\n"
        "2026-03-01T08:08:00+01:00,mood,3,,,,\n"
        "2026-03-01T08:09:00+01:00,weight,heavy,,kg,,\n", encoding="utf-8")
    out = careloop("readings", "import", patient_id, str(path))
    assert out.splitlines() == [
        "refused line 6: effective_at: give the time with its UTC offset, e.g. "
        "2027-03-01T08:00:00+01:00",
        "refused line 7: measure: mood is not a measure CareLoop keeps; one of "
        "blood_pressure, pulse, resting_heart_rate, weight, glucose, spo2, temperature, "
        "respiratory_rate, steps (or a LOINC code)",
        "refused line 8: value: 'heavy' is not a number",
        "4 stored, 0 already stored, 3 refused"]
    assert [r[:4] for r in _readings()] == [
        ("blood_pressure", "85354-9", 150, 95), ("glucose", "2339-0", 5.995, None),
        ("pulse", "8867-4", 64, None), ("weight", "29463-7", 81.5, None)]
    assert careloop("readings", "import", patient_id, str(path)).splitlines()[-1] == (
        "0 stored, 4 already stored, 3 refused")


def test_a_fhir_file_and_files_that_are_not_readings(patient_id: str, tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle("collection", blood_pressure(130, 80),
                                      observation("8867-4", 61, "/min"))))
    assert careloop("readings", "import", patient_id, str(path)) == (
        "2 stored, 0 already stored, 0 refused")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("when,what\n1,2\n")
    assert careloop("readings", "import", patient_id, str(bad_csv), ok=False) == (
        "error: columns: the header needs effective_at, measure, value; the columns are "
        "effective_at,measure,value,value2,unit,device,identifier")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert "give an Apple Health export" in careloop("readings", "import", patient_id,
                                                     str(other), ok=False)
    assert careloop("readings", "import", "999", str(path), ok=False) == (
        "error: no patient 999")
    assert len(_readings()) == 2


def test_a_large_export_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    # 7.5 MB here (tracemalloc makes reading slow); memory does not grow with the size.
    path = ah.write(tmp_path / "export.xml", ah.large(T0 - timedelta(days=200), 15_000))
    size = path.stat().st_size
    now = datetime.now(UTC)
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for _ in imports.apple_health(stream, now=now))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 15_000 + 1_500 + 30
    assert size > 7_000_000
    assert peak < 1_000_000, f"peak {peak} bytes reading a {size}-byte export"


def test_the_command_itself_imports_a_zip_export(patient_id: str, tmp_path: Path,
                                                 repo_root: Path) -> None:
    archive = ah.zipped(_small_export(tmp_path), tmp_path / "export.zip")
    done = subprocess.run([sys.executable, "-m", "assistant", "readings", "import",
                           patient_id, str(archive)], capture_output=True, text=True,
                          timeout=120, cwd=repo_root, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "9 stored, 0 already stored, 2 refused"
    assert "72" not in done.stderr  # no values in what the terminal logs
    assert _readings() == EXPECTED
