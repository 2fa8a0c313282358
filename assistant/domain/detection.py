"""Detection: a patient's readings against their targets, with persistence, and every
detector of monitoring run together over one patient's readings.

- out of range (`out_of_range`): a warning needs the target's persistence (K readings in a
  row, or N minutes, out of range); an urgent value alerts at once;
- trends against the patient's own baseline and the heart-failure weight rule
  (`domain.trends`), the CGM low forecast (`domain.forecast`), missing data
  (`domain.cadence`);
- history is not news: readings older than the lookback before `now` are baseline only and
  never give a finding (CARELOOP_ALERT_LOOKBACK_HOURS, DESIGN "Monitoring").

Which findings become alerts (one per measure and direction) is `domain.alert_state`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.domain import cadence, forecast, trends
from assistant.domain.findings import (
    DEFAULT_LOOKBACK,
    Direction,
    Finding,
    FindingKind,
    Reading,
    Severity,
    fmt,
    in_order,
    shown,
    since,
)
from assistant.domain.targets import Target, WeightGainRule


def out_of_range(readings: Iterable[Reading], *, target: Target, start: datetime
                 ) -> list[Finding]:
    """A finding at each reading (from `start` on) that is urgent, or out of range long
    enough for a warning. Readings before `start` still count towards persistence."""
    run: list[Reading] = []      # the readings out of range in a row, one direction
    run_direction: Direction | None = None
    found = []
    for reading in in_order(readings, measure=target.measure):
        grade = target.grade(reading)
        if grade is None:
            run, run_direction = [], None
            continue
        severity, direction = grade
        if direction != run_direction:
            run, run_direction = [], direction
        run.append(reading)
        if reading.at < start:
            continue
        lasted = reading.at - run[0].at
        by_minutes = (target.persist_minutes is not None
                      and lasted >= timedelta(minutes=target.persist_minutes))
        if severity == Severity.urgent:
            why = _level_words(target, reading, direction, urgent=True)
        elif len(run) >= target.persist_count or by_minutes:
            why = _level_words(target, reading, direction, urgent=False)
            why += (f" for {lasted.total_seconds() / 60:.0f} min" if by_minutes
                    else f", {len(run)} readings in a row" if len(run) > 1 else "")
        else:
            continue
        found.append(Finding(FindingKind.reading, severity, target.measure, direction,
                             f"{shown(reading)}: {why}", reading.at))
    return found


def _level_words(target: Target, reading: Reading, direction: Direction, *, urgent: bool
                 ) -> str:
    """ "at or above 180 systolic", "below 3.9" — the level the reading crossed."""
    parts = [f"{'at or above' if c.above else 'below'} {fmt(c.level)} {c.name}".rstrip()
             for c in target.crossed(reading, direction, urgent=urgent)]
    return " and ".join(parts) or "out of range"


@dataclass(frozen=True, slots=True)
class Plan:
    """What is watched for one patient: targets in force, the heart-failure weight rule if
    confirmed, the measures whose trend is watched, and the expected cadences."""
    targets: Mapping[str, Target]
    weight_gain: WeightGainRule | None = None
    trend_measures: tuple[str, ...] = tuple(trends.TREND_SPECS)
    forecast_glucose: bool = True
    cadences: tuple[cadence.Cadence, ...] = ()
    expected_from: datetime | None = None   # when the cadences began (enrolment)


def detect(readings: Iterable[Reading], *, plan: Plan, now: datetime,
           lookback: timedelta = DEFAULT_LOOKBACK) -> list[Finding]:
    """Every finding of every detector over one patient's readings, in time order; readings
    after `now` are not looked at, readings older than `lookback` are baseline only. Missing
    data is judged at `now` (its evidence is the last reading, however old)."""
    series = in_order(r for r in readings if r.at <= now)
    start = since(now=now, lookback=lookback)
    found: list[Finding] = []
    for target in plan.targets.values():
        found += out_of_range(series, target=target, start=start)
    for measure in plan.trend_measures:
        found += trends.cusum(series, spec=trends.TREND_SPECS[measure], start=start)
    if plan.weight_gain is not None:
        found += trends.weight_gain(series, rule=plan.weight_gain, start=start)
    glucose = plan.targets.get("glucose")
    if plan.forecast_glucose and glucose is not None:
        found += forecast.predicted_lows(series, target=glucose, start=start)
    if plan.cadences:
        found += cadence.missing(series, cadences=plan.cadences, now=now,
                                 expected_from=plan.expected_from or start)
    return sorted(found, key=lambda f: f.concluded_at)
