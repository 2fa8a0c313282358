"""The geometry of a measure's chart on the patient page: where the target bands, the
baseline, the readings and the alert markers go in an SVG of fixed size, the axis ticks
(dates in the patient's own zone, values with their unit), and the words a screen reader
or a nurse without a mouse gets (a one-line summary: last value, lowest, highest).

Pure: numbers and words in, numbers and words out; the console's template draws them.
Bands shade what is out of range for the first value: from a warning level to the urgent
one, and beyond the urgent level. Blood pressure has two values in one chart: its systolic
highs are shaded, its systolic lows drawn as lines (a shaded low would lie over the
diastolic readings and read as theirs), and its diastolic levels as dashed lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from assistant.domain.findings import fmt, label
from assistant.domain.targets import Levels

WIDTH, HEIGHT = 640.0, 220.0
LEFT, RIGHT, TOP, BOTTOM = 52.0, 12.0, 12.0, 28.0   # the plot's margins, for the axes
WHEN = "%a %-d %b %H:%M"       # as the console writes a time: "Tue 3 Mar 14:05"


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading: when it was taken (UTC), its value and (blood pressure) diastolic,
    and where it came from."""
    at: datetime
    value: float
    value2: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """A reading in the table under its chart: its time (UTC), value and how far out of
    range it is ("urgent high", "warning low (diastolic)", "in range", "no target")."""
    at: datetime
    value: str
    grade: str
    source: str


@dataclass(frozen=True, slots=True)
class Mark:
    """One alert of the measure: its evidence time, severity and one-line reason."""
    at: datetime
    severity: str
    summary: str


@dataclass(frozen=True, slots=True)
class Band:
    y: float
    height: float
    level: str          # "warning" or "urgent"
    title: str


@dataclass(frozen=True, slots=True)
class Line:
    y: float
    title: str
    kind: str = "level2"    # level2 (diastolic, dashed), level (a low of the first value)


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True, slots=True)
class Marker:
    x: float
    severity: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    at: float           # x for a date tick, y for a value tick
    text: str


@dataclass
class Chart:
    measure: str
    unit: str
    summary: str        # what a screen reader reads: the chart in one sentence
    empty: bool
    bands: list[Band] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)        # second value's levels, dashed
    baseline: Line | None = None
    dots: list[Dot] = field(default_factory=list)
    dots2: list[Dot] = field(default_factory=list)        # diastolic
    markers: list[Marker] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    last: str = ""
    last_at: datetime | None = None
    rows: list[Row] = field(default_factory=list)      # newest first, at most `most` of them
    count: int = 0                                     # readings in the window
    lowest: str = ""
    highest: str = ""
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right: float = WIDTH - RIGHT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM


def nice_step(span: float, ticks: int = 5) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about `ticks` ticks over `span`."""
    raw = max(span, 1e-9) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _levels(levels: Levels | None) -> list[float]:
    if levels is None:
        return []
    return [v for v in (levels.urgent_low, levels.warning_low, levels.warning_high,
                        levels.urgent_high) if v is not None]


def _shown(sample: Sample) -> str:
    return fmt(sample.value) + (f"/{fmt(sample.value2)}" if sample.value2 is not None else "")


def _bands(levels: Levels, lo: float, hi: float) -> list[tuple[float, float, str, str]]:
    """Out-of-range regions as (from, to, level, title), clipped to the value range."""
    found = []
    if levels.urgent_high is not None:
        found.append((levels.urgent_high, hi, "urgent",
                      f"urgent high from {fmt(levels.urgent_high)}"))
    if levels.warning_high is not None:
        top = levels.urgent_high if levels.urgent_high is not None else hi
        found.append((levels.warning_high, top, "warning",
                      f"warning high from {fmt(levels.warning_high)}"))
    if levels.urgent_low is not None:
        found.append((lo, levels.urgent_low, "urgent",
                      f"urgent low under {fmt(levels.urgent_low)}"))
    if levels.warning_low is not None:
        bottom = levels.urgent_low if levels.urgent_low is not None else lo
        found.append((bottom, levels.warning_low, "warning",
                      f"warning low under {fmt(levels.warning_low)}"))
    return [(max(a, lo), min(b, hi), level, title) for a, b, level, title in found
            if min(b, hi) > max(a, lo)]


def build(*, measure: str, unit: str, samples: Sequence[Sample], start: datetime,
          end: datetime, zone: tzinfo, levels: Levels | None = None,
          levels2: Levels | None = None, baseline: float | None = None,
          marks: Sequence[Mark] = (), count: int | None = None) -> Chart:
    """The chart of `samples` (oldest first) between `start` and `end` (UTC); `count` is
    how many readings they stand for when they were thinned."""
    name = label(measure)
    days = max(1, round((end - start) / timedelta(days=1)))
    if not samples:
        return Chart(measure, unit, f"{name}: no readings in the last {days} days", True)
    values = [s.value for s in samples] + [s.value2 for s in samples if s.value2 is not None]
    # The value axis covers the readings, the baseline and the levels near them, so that a
    # band is seen where it matters without squeezing the readings into a strip.
    near = [v for v in _levels(levels) + _levels(levels2)
            if min(values) - (max(values) - min(values) + 10) <= v
            <= max(values) + (max(values) - min(values) + 10)]
    every = values + near + ([baseline] if baseline is not None else [])
    lo, hi = min(every), max(every)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 1.0)
    step = nice_step(hi - lo + 2 * pad)
    lo, hi = math.floor((lo - pad) / step) * step, math.ceil((hi + pad) / step) * step
    chart = Chart(measure, unit, "", False)
    span = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return chart.left + (chart.right - chart.left) * (at - start).total_seconds() / span

    def y(value: float) -> float:
        return chart.bottom - (chart.bottom - chart.top) * (value - lo) / (hi - lo)

    shaded = levels or Levels()
    if levels2 is not None:
        for name, value in (("urgent low", shaded.urgent_low),
                            ("warning low", shaded.warning_low)):
            if value is not None and lo <= value <= hi:
                chart.lines.append(Line(y(value), f"systolic {name} {fmt(value)} {unit}",
                                        "level"))
        shaded = Levels(warning_high=shaded.warning_high, urgent_high=shaded.urgent_high)
    for a, b, level, title in _bands(shaded, lo, hi):
        chart.bands.append(Band(y(b), y(a) - y(b), level, f"{title} {unit}"))
    for value in _levels(levels2):
        if lo <= value <= hi:
            chart.lines.append(Line(y(value), f"diastolic level {fmt(value)} {unit}"))
    if baseline is not None:
        chart.baseline = Line(y(baseline), f"baseline {fmt(baseline)} {unit}")
    for s in samples:
        when = s.at.astimezone(zone).strftime(WHEN)
        chart.dots.append(Dot(x(s.at), y(s.value), f"{when}: {_shown(s)} {unit}"))
        if s.value2 is not None:
            chart.dots2.append(Dot(x(s.at), y(s.value2), f"{when}: diastolic {fmt(s.value2)}"))
    chart.markers.extend(Marker(x(m.at), m.severity, f"{m.at.astimezone(zone).strftime(WHEN)} "
                                f"{m.severity}: {m.summary}")
                         for m in marks if start <= m.at <= end)
    value = lo
    while value <= hi + step / 2:
        chart.y_ticks.append(Tick(y(value), fmt(value)))
        value += step
    every_days = max(1, math.ceil(days / 6))
    local_start = start.astimezone(zone)
    day = local_start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day <= end:
        chart.x_ticks.append(Tick(x(day), day.strftime("%d %b")))
        day += timedelta(days=every_days)   # wall-clock days: midnight across DST
    latest = samples[-1]
    low = min(samples, key=lambda s: s.value)
    high = max(samples, key=lambda s: s.value)
    chart.last = f"{_shown(latest)} {unit} on {latest.at.astimezone(zone).strftime(WHEN)}"
    chart.last_at, chart.count = latest.at, count or len(samples)
    chart.lowest, chart.highest = f"{_shown(low)} {unit}", f"{_shown(high)} {unit}"
    base = f"; baseline {fmt(baseline)} {unit}" if baseline is not None else ""
    alerts = f"; {len(chart.markers)} alerts" if chart.markers else ""
    chart.summary = (f"{name}, last {days} days: {chart.count} readings; "
                     f"last {chart.last}; lowest {chart.lowest}, highest {chart.highest}"
                     f"{base}{alerts}")
    return chart


def thin(samples: Sequence[Sample], *, most: int) -> list[Sample]:
    """At most about `most` samples (oldest first): beyond that (a CGM, hourly heart rate
    over 90 days) each of `most // 2` runs keeps its lowest and highest, so a low or a high
    is never thinned away."""
    if len(samples) <= most:
        return list(samples)
    runs = max(1, most // 2)
    size = math.ceil(len(samples) / runs)
    kept: list[Sample] = []
    for i in range(0, len(samples), size):
        run = samples[i:i + size]
        ends = {id(min(run, key=lambda s: s.value)): min(run, key=lambda s: s.value),
                id(max(run, key=lambda s: s.value)): max(run, key=lambda s: s.value)}
        kept.extend(sorted(ends.values(), key=lambda s: s.at))
    return kept


def table(samples: Sequence[Sample], *, levels: Levels | None = None,
          levels2: Levels | None = None, most: int = 100) -> list[Row]:
    """The newest `most` of `samples` (oldest first), newest first, each graded against the
    levels in force (the worse of the two values of blood pressure)."""
    rows = []
    for s in list(samples)[::-1][:most]:
        grades = []
        if levels is not None and (g := levels.grade(s.value)):
            grades.append((g, ""))
        if levels2 is not None and s.value2 is not None and (g2 := levels2.grade(s.value2)):
            grades.append((g2, " (diastolic)"))
        worst = max(grades, key=lambda g: (g[0][0] == "urgent", g[0][1] == "high"),
                    default=None)
        grade = (f"{worst[0][0]} {worst[0][1]}{worst[1]}" if worst else
                 "no target" if levels is None and levels2 is None else "in range")
        rows.append(Row(s.at, _shown(s), grade, s.source))
    return rows
