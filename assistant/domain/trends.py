"""Trends against the patient's own baseline: a one-sided CUSUM (Page 1954; Montgomery,
Introduction to Statistical Quality Control, ch. 9) on weight, resting heart rate and
systolic blood pressure, and the heart-failure weight rule on top (ESC HFA patient guidance:
more than 2 kg in 3 days).

Fixed rules alone miss most heart-failure decompensations (published sensitivities of
20-46 %, e.g. Zhang et al., Eur J Heart Fail 2009;11:420); a drift from what is normal for
*this* patient is the earlier sign.

Robust to measuring errors: the baseline is a median with a MAD spread, learned from the
readings 7 to 28 days before each reading (so a slow deterioration is not absorbed into it);
a value far from the recent level (a 10 kg typo, a cuff error) is set aside as a measuring
error; and each reading's contribution to the CUSUM is clipped, so one wild value can never
alarm alone.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.domain.findings import (
    Direction,
    Fact,
    Finding,
    FindingKind,
    Reading,
    Severity,
    in_order,
)
from assistant.domain.targets import WeightGainRule


@dataclass(frozen=True, slots=True)
class TrendSpec:
    """How one measure's trend is watched."""
    measure: str
    min_sd: float        # floor of the spread: measuring resolution and day-to-day change
    gate: float          # further than this from the recent level is a measuring error
    k: float = 0.75      # CUSUM allowance, in spreads: shifts under k * sd are ignored
    h: float = 6.0       # CUSUM decision level, in spreads (k, h tuned on the benchmark)
    clip: float = 3.0    # one reading adds at most clip - k to the CUSUM


TREND_SPECS = {
    "weight": TrendSpec("weight", min_sd=0.5, gate=4.0),
    "resting_heart_rate": TrendSpec("resting_heart_rate", min_sd=3.0, gate=25.0),
    "blood_pressure": TrendSpec("blood_pressure", min_sd=6.0, gate=40.0),  # systolic
}
BASELINE_FROM = timedelta(days=28)
BASELINE_TO = timedelta(days=7)
MIN_BASELINE = 7     # readings needed before a baseline is trusted
RECENT = 5           # readings that give the recent level a new one is checked against


@dataclass(frozen=True, slots=True)
class Baseline:
    level: float
    sd: float


def baseline(values: Sequence[float], *, min_sd: float) -> Baseline | None:
    """Median and MAD-based spread (1.4826 * MAD estimates the SD of normal data)."""
    if len(values) < MIN_BASELINE:
        return None
    level = statistics.median(values)
    mad = statistics.median(abs(v - level) for v in values)
    return Baseline(level, max(1.4826 * mad, min_sd))


def accepted(readings: Sequence[Reading], *, gate: float) -> list[bool]:
    """Which readings are plausible against the median of the RECENT readings before them;
    a real change is accepted once it has lasted a few readings, since they move the median.
    """
    flags = []
    for i, reading in enumerate(readings):
        recent = [r.value for r in readings[max(0, i - RECENT):i]]
        flags.append(len(recent) < 3 or abs(reading.value - statistics.median(recent)) <= gate)
    return flags


def cusum(readings: Iterable[Reading], *, spec: TrendSpec, start: datetime) -> list[Finding]:
    """A rising drift from the baseline: a finding at each reading (from `start` on) while
    the CUSUM is over its decision level."""
    series = in_order(readings, measure=spec.measure)
    ok = accepted(series, gate=spec.gate)
    times = [r.at for r in series]
    found: list[Finding] = []
    total, rising_since = 0.0, None
    for i, reading in enumerate(series):
        if not ok[i]:
            continue
        lo = bisect.bisect_left(times, reading.at - BASELINE_FROM)
        hi = bisect.bisect_right(times, reading.at - BASELINE_TO)
        base = baseline([series[j].value for j in range(lo, hi) if ok[j]], min_sd=spec.min_sd)
        if base is None:
            continue
        z = min(max((reading.value - base.level) / base.sd, -spec.clip), spec.clip)
        total = min(max(0.0, total + z - spec.k), 2 * spec.h)
        if total == 0.0:
            rising_since = None
        elif rising_since is None:
            rising_since = reading.at
        if total > spec.h and reading.at >= start and rising_since is not None:
            found.append(Finding(
                FindingKind.trend, Severity.warning, spec.measure, Direction.high, "",
                reading.at, facts=_trend_facts(reading, base, reading.at - rising_since)))
    return found


def _trend_facts(reading: Reading, base: Baseline, rising: timedelta) -> dict[str, Fact]:
    """The value (systolic for blood pressure), its rise over the baseline, and for how
    long it has been rising."""
    return {"rule": "cusum", "value": reading.value, "delta": reading.value - base.level,
            "baseline": base.level, "hours": _hours(rising)}


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600


def weight_gain(readings: Iterable[Reading], *, rule: WeightGainRule, start: datetime
                ) -> list[Finding]:
    """Heart failure: a weight more than `rule.kg` above the lowest weight of the previous
    `rule.days` days (6 h of slack, so that the same hour three days ago counts); measuring
    errors are set aside on both sides."""
    series = in_order(readings, measure="weight")
    ok = accepted(series, gate=TREND_SPECS["weight"].gate)
    kept = [r for r, good in zip(series, ok, strict=True) if good]
    times = [r.at for r in kept]
    span = timedelta(days=rule.days)
    found = []
    for i, reading in enumerate(kept):
        if reading.at < start:
            continue
        lo = bisect.bisect_left(times, reading.at - span - timedelta(hours=6))
        earlier = kept[lo:i]
        if not earlier:
            continue
        lowest = min(earlier, key=lambda r: r.value)
        gain = reading.value - lowest.value
        if gain > rule.kg:
            found.append(Finding(
                FindingKind.trend, Severity.warning, "weight", Direction.high, "",
                reading.at, facts={"rule": "weight_gain", "value": reading.value,
                                   "delta": gain, "from": lowest.value,
                                   "hours": _hours(reading.at - lowest.at)}))
    return found
