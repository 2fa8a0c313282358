"""Forecast for continuous glucose (CGM, a reading every ~5 minutes): a robust straight-line
fit on the last 20 minutes predicts 20 minutes ahead and warns of a predicted low before it
happens, as CGM "predictive low" alerts do (Dexcom "Urgent Low Soon": 20 minutes ahead;
International Consensus on CGM use, Danne et al., Diabetes Care 2017;40:1631).

The slope is Theil-Sen (the median of the pairwise slopes), so one noisy point cannot tip a
prediction; gaps longer than a sensor's usual interval make no forecast at all; a step
faster than blood glucose can change (1.5 mmol/L in 5 minutes: a compression low, a sensor
restart) is a sensor artefact, and a window holding one makes no forecast; a reading higher
than the one before makes none either (a CGM never shows a predicted low under an upward
arrow: the fall has stopped, at least for now; the benchmark's false forecasts were nearly
all a dip of one or two readings at the end of a meal's decline, the next reading already
back up, which the 20-minute slope still read as a fall); and a forecast must hold on two
readings in a row before it is a finding.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta

from assistant.domain.findings import Direction, Finding, FindingKind, Reading, Severity
from assistant.domain.targets import Target

HORIZON = timedelta(minutes=20)
WINDOW = timedelta(minutes=20)
MIN_POINTS = 4
MAX_GAP = timedelta(minutes=11)
# mmol/L per minute: the fastest change physiology allows is about 4 mg/dL/min (13 mmol/L/h);
# with the sensor's noise on two readings, 1.5 mmol/L in 5 minutes is beyond it.
MAX_RATE = 18.0 / 60


def trend_line(points: list[Reading], *, at: datetime) -> tuple[float, float]:
    """(level at `at`, slope per minute), both robust to one outlier."""
    pairs = [((b.value - a.value) / ((b.at - a.at).total_seconds() / 60))
             for i, a in enumerate(points) for b in points[i + 1:] if b.at > a.at]
    slope = statistics.median(pairs)
    level = statistics.median(p.value + slope * (at - p.at).total_seconds() / 60
                              for p in points)
    return level, slope


def predicted_lows(readings: Iterable[Reading], *, target: Target, start: datetime,
                   horizon: timedelta = HORIZON) -> list[Finding]:
    """A finding at each in-range glucose reading (from `start` on) whose forecast falls
    below the warning low; urgent when it falls below the urgent low."""
    low, very_low = target.value.warning_low, target.value.urgent_low
    if low is None:
        return []
    series = sorted((r for r in readings if r.measure == target.measure), key=lambda r: r.at)
    found = []
    first = 0
    was_low = False     # the previous reading's forecast was low too
    for i, reading in enumerate(series):
        while series[first].at < reading.at - WINDOW:
            first += 1
        points = series[first:i + 1]
        predicted_low, was = _forecast(points, low=low, horizon=horizon), was_low
        was_low = predicted_low is not None
        if predicted_low is None or not was or reading.at < start or reading.value < low:
            continue
        predicted, slope = predicted_low
        minutes = horizon.total_seconds() / 60
        urgent = very_low is not None and predicted < very_low
        found.append(Finding(
            FindingKind.forecast, Severity.urgent if urgent else Severity.warning,
            target.measure, Direction.low, "", reading.at,
            facts={"rule": "forecast", "value": reading.value, "rate": slope * 60,
                   "predicted": max(predicted, 0.0), "minutes": minutes}))
    return found


def _forecast(points: list[Reading], *, low: float, horizon: timedelta
              ) -> tuple[float, float] | None:
    """(predicted value, slope) when the window forecasts a value below `low`."""
    if len(points) < MIN_POINTS:
        return None
    for a, b in zip(points, points[1:], strict=False):
        minutes = (b.at - a.at).total_seconds() / 60
        if b.at - a.at > MAX_GAP or abs(b.value - a.value) > MAX_RATE * max(minutes, 5):
            return None
    if points[-1].value > points[-2].value:
        return None      # rising now: no predicted low under an upward arrow
    level, slope = trend_line(points, at=points[-1].at)
    predicted = level + slope * horizon.total_seconds() / 60
    return (predicted, slope) if slope < 0 and predicted < low else None
