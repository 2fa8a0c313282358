"""Measures: each LOINC code with its UCUM units, conversions to the canonical unit, and the
values refused (a unit of another code, a weight of 4000 kg)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from assistant.domain import measures
from assistant.domain.measures import Refused
from assistant.services.ingest import candidate

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
AT = datetime(2027, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(("code", "value", "unit", "kind", "stored", "label"), [
    ("8867-4", 72, "/min", "pulse", 72, "bpm"),
    ("8867-4", 72, "{beats}/min", "pulse", 72, "bpm"),
    ("40443-4", 58, "/min", "resting_heart_rate", 58, "bpm"),
    ("29463-7", 81.4, "kg", "weight", 81.4, "kg"),
    ("29463-7", 81400, "g", "weight", 81.4, "kg"),
    ("29463-7", 180, "[lb_av]", "weight", 81.647, "kg"),
    ("15074-8", 6.2, "mmol/L", "glucose", 6.2, "mmol/L"),
    ("2339-0", 108, "mg/dL", "glucose", 5.995, "mmol/L"),
    ("59408-5", 96, "%", "spo2", 96, "%"),
    ("2708-6", 91, "%", "spo2", 91, "%"),
    ("8310-5", 37.2, "Cel", "temperature", 37.2, "°C"),
    ("8310-5", 100.4, "[degF]", "temperature", 38.0, "°C"),
    ("9279-1", 16, "/min", "respiratory_rate", 16, "/min"),
    ("55423-8", 812, "{steps}", "steps", 812, "steps"),
    ("41950-7", 9000, "/d", "steps", 9000, "steps"),
])
def test_each_code_is_stored_in_its_measures_canonical_unit(
        code: str, value: float, unit: str, kind: str, stored: float, label: str) -> None:
    found = candidate(code=code, value=value, unit=unit, taken_at=AT, now=NOW)
    assert (found.kind, found.code, found.value, found.unit) == (kind, code, stored, label)
    assert found.taken_at == datetime(2027, 3, 1, 7, 0, tzinfo=UTC)


def test_blood_pressure_is_the_panel_with_both_values() -> None:
    found = candidate(code="85354-9", value=142, value2=91, unit="mm[Hg]", taken_at=AT,
                      now=NOW)
    assert (found.kind, found.value, found.value2, found.unit) == (
        "blood_pressure", 142, 91, "mmHg")
    with pytest.raises(Refused, match="^component: blood pressure needs"):
        candidate(code="85354-9", value=142, unit="mm[Hg]", taken_at=AT, now=NOW)
    with pytest.raises(Refused, match="^value2: the diastolic value must be lower"):
        candidate(code="85354-9", value=90, value2=95, unit="mm[Hg]", taken_at=AT, now=NOW)
    with pytest.raises(Refused, match="^code: 8480-6 alone is half a blood pressure"):
        candidate(code="8480-6", value=142, unit="mm[Hg]", taken_at=AT, now=NOW)


@pytest.mark.parametrize(("code", "value", "unit", "reason"), [
    ("29463-7", 81, "mg/dL", "^unit: mg/dL is not a unit of LOINC 29463-7; one of kg, g, "),
    ("2339-0", 6.2, "mmol/L", "glucose in mmol/L is LOINC 15074-8"),
    ("15074-8", 108, "mg/dL", "glucose in mg/dL is LOINC 2339-0"),
    ("8310-5", 37, "[degC]", "^unit: \\[degC\\] is not a unit of LOINC 8310-5"),
    ("8867-4", 72, "", "^unit: \\(none\\) is not a unit"),
    ("29463-7", 4000, "kg", "^value: 4000 kg is not a plausible weight"),
    ("29463-7", 9000, "[lb_av]", "^value: 4082.33 kg is not a plausible weight"),
    ("59408-5", 101, "%", "^value: 101 % is not a plausible spo2"),
    ("8310-5", 212, "[degF]", "^value: 100 °C is not a plausible temperature"),
    ("12345-6", 1, "kg", "^code: LOINC 12345-6 is not a measure CareLoop keeps"),
])
def test_a_unit_of_another_code_or_an_impossible_value_is_refused_with_the_reason(
        code: str, value: float, unit: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        candidate(code=code, value=value, unit=unit, taken_at=AT, now=NOW)


def test_the_effective_time_needs_an_offset_and_cannot_be_in_the_future() -> None:
    with pytest.raises(Refused, match="^effective: give the time with its UTC offset"):
        candidate(code="8867-4", value=72, unit="/min", taken_at=datetime(2027, 3, 1, 8),
                  now=NOW)
    with pytest.raises(Refused, match="^effective: an observation cannot be measured in "
                                      "the future"):
        candidate(code="8867-4", value=72, unit="/min", taken_at=NOW + timedelta(hours=1),
                  now=NOW)
    with pytest.raises(Refused, match="^effective: the observation has no time"):
        candidate(code="8867-4", value=72, unit="/min", taken_at=None, now=NOW)


def test_every_measure_has_units_for_each_of_its_codes() -> None:
    for measure in measures.MEASURES.values():
        for code in measure.codes:
            unit = measure.ucum if code != "2339-0" else "mg/dL"
            low = measures.canonical(code, measure.low if code != "2339-0" else 18.016,
                                     unit)
            assert measures.check_range(measure, low) == low
