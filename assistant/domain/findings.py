"""What monitoring reasons about, as plain values: a reading of a device or a patient, and a
finding a detector draws from readings (kind, severity, measure, direction, reason, and the
effective time of the reading that triggered it).

Measures are named as the readings store them: blood_pressure (value systolic, value2
diastolic, mmHg), pulse and resting_heart_rate (/min; heart rate is `pulse` everywhere, the
API's `kind` integrators rely on), weight (kg), glucose (mmol/L), spo2 (%), temperature
(°C), respiratory_rate (/min), steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

# Observations older than this before "now" are history: baseline and charts, never a
# finding (CARELOOP_ALERT_LOOKBACK_HOURS, DESIGN "Monitoring").
DEFAULT_LOOKBACK = timedelta(hours=168)


class FindingKind(StrEnum):
    reading = "reading"            # a value out of the patient's targets
    trend = "trend"                # a drift from the patient's own baseline
    forecast = "forecast"          # a value predicted to leave the targets soon
    missing_data = "missing_data"  # the expected readings did not come


class Severity(StrEnum):
    warning = "warning"
    urgent = "urgent"


class Direction(StrEnum):
    low = "low"
    high = "high"


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement at its effective time (aware), in the measure's canonical unit."""
    measure: str
    value: float
    at: datetime
    value2: float | None = None   # diastolic for blood pressure


Fact = float | str


@dataclass(frozen=True, slots=True)
class Finding:
    """What one detector concluded at one reading (or, for missing data, at a moment).
    Trends, forecasts and missing data say why in `facts` (the rule, and its numbers: a
    delta, a baseline, a span in hours...), which the service words from the catalog; an
    out-of-range reading's `reason` is its one line."""
    kind: FindingKind
    severity: Severity
    measure: str
    direction: Direction | None   # None for missing data
    reason: str                   # out of range: one line a nurse understands; else ""
    evidence_at: datetime         # effective time of the reading that triggered it
    at: datetime | None = None    # when it was concluded, if not at the evidence (missing data)
    facts: Mapping[str, Fact] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, Direction | None]:
        """One open alert per measure and direction (alarm fatigue, issue 11)."""
        return (self.measure, self.direction)

    @property
    def concluded_at(self) -> datetime:
        return self.at or self.evidence_at


def in_order(readings: Iterable[Reading], *, measure: str | None = None) -> list[Reading]:
    """Readings in effective-time order (late arrivals take their place), one measure if
    given."""
    chosen = (r for r in readings if measure is None or r.measure == measure)
    return sorted(chosen, key=lambda r: r.at)


def since(*, now: datetime, lookback: timedelta = DEFAULT_LOOKBACK) -> datetime:
    """The earliest effective time that may still raise a finding at `now`."""
    return now - lookback


UNITS = {"blood_pressure": "mmHg", "pulse": "/min", "resting_heart_rate": "/min",
         "weight": "kg", "glucose": "mmol/L", "spo2": "%", "temperature": "°C",
         "respiratory_rate": "/min", "steps": "steps"}


def label(measure: str) -> str:
    return measure.replace("_", " ")


def shown(reading: Reading) -> str:
    """A reading as a nurse reads it: "blood pressure 184/96 mmHg", "weight 83.4 kg"."""
    value = fmt(reading.value)
    if reading.value2 is not None:
        value += f"/{fmt(reading.value2)}"
    return f"{label(reading.measure)} {value} {UNITS.get(reading.measure, '')}".rstrip()


def fmt(value: float) -> str:
    """A value as a nurse reads it: at most one decimal, no trailing zero."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
