"""Forecast for continuous glucose (CGM, a reading every ~5 minutes): a robust straight-line
fit on the last 20 minutes predicts 20 minutes ahead and warns of a predicted low before it
happens, as CGM "predictive low" alerts do (Dexcom "Urgent Low Soon": 20 minutes ahead;
International Consensus on CGM use, Danne et al., Diabetes Care 2017;40:1631).

The slope is Theil-Sen (the median of the pairwise slopes), so one noisy point cannot tip a
prediction; gaps longer than a sensor's usual interval make no forecast at all.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta

from assistant.domain.findings import Direction, Finding, FindingKind, Reading, Severity, fmt
from assistant.domain.targets import Target

HORIZON = timedelta(minutes=20)
WINDOW = timedelta(minutes=20)
MIN_POINTS = 4
MAX_GAP = timedelta(minutes=11)


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
    for i, reading in enumerate(series):
        while series[first].at < reading.at - WINDOW:
            first += 1
        points = series[first:i + 1]
        if reading.at < start or reading.value < low or len(points) < MIN_POINTS:
            continue
        if any(b.at - a.at > MAX_GAP for a, b in zip(points, points[1:], strict=False)):
            continue
        level, slope = trend_line(points, at=reading.at)
        minutes = horizon.total_seconds() / 60
        predicted = level + slope * minutes
        if slope >= 0 or predicted >= low:
            continue
        urgent = very_low is not None and predicted < very_low
        found.append(Finding(
            FindingKind.forecast, Severity.urgent if urgent else Severity.warning,
            target.measure, Direction.low,
            f"glucose {fmt(reading.value)} mmol/L falling {abs(slope) * 60:.1f} mmol/L/h: "
            f"{fmt(max(predicted, 0.0))} predicted in {minutes:.0f} min", reading.at))
    return found
