"""Trends against the patient's own baseline, the heart-failure weight rule and the CGM low
forecast: a real drift is found, one wild value (a 10 kg typo, a cuff error) is not, and a
low is predicted before it happens."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

from assistant.domain.findings import Direction, FindingKind, Reading, Severity
from assistant.domain.forecast import predicted_lows
from assistant.domain.targets import Levels, Target, WeightGainRule
from assistant.domain.trends import TREND_SPECS, cusum, weight_gain
from assistant.services.wording import reason

T0 = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
GLUCOSE = Target("glucose", Levels(urgent_low=3.0, warning_low=3.9, warning_high=13.9),
                 persist_count=3, persist_minutes=15)


def daily(measure: str, values: list[float]) -> list[Reading]:
    return [Reading(measure, v, T0 + timedelta(days=d)) for d, v in enumerate(values)]


def steady(level: float, sd: float, days: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [round(level + rng.gauss(0, sd), 1) for _ in range(days)]


def test_a_steady_weight_finds_no_trend() -> None:
    readings = daily("weight", steady(81.2, 0.3, 60))
    assert cusum(readings, spec=TREND_SPECS["weight"], start=T0) == []


def test_a_slow_weight_gain_is_found_from_the_patients_own_baseline() -> None:
    # +2.1 kg over 7 days: under the heart-failure rule's 2 kg in 3 days, every day
    values = steady(81.2, 0.3, 35) + [81.2 + 0.3 * d for d in range(1, 8)]
    found = cusum(daily("weight", values), spec=TREND_SPECS["weight"], start=T0)
    assert found, "a 2 kg gain over a week from a steady baseline is a trend"
    first = found[0]
    assert first.kind == FindingKind.trend and first.direction == Direction.high
    assert first.evidence_at <= T0 + timedelta(days=35 + 5)
    assert re.fullmatch(r"weight 8\d(\.\d)? kg: \+1\.\d kg over baseline 81\.\d kg, "
                        r"rising for \d days", reason(first)), reason(first)
    assert weight_gain(daily("weight", values), rule=WeightGainRule(), start=T0) == []


def test_one_wild_value_does_not_alarm_the_trend() -> None:
    values = steady(81.2, 0.3, 40)
    values[33] = values[33] + 10          # a 10 kg typo
    assert cusum(daily("weight", values), spec=TREND_SPECS["weight"], start=T0) == []
    assert weight_gain(daily("weight", values), rule=WeightGainRule(), start=T0) == []
    systolic = steady(132, 8, 60, seed=3)
    systolic[40] = 175                     # a cuff error, not yet urgent
    readings = [Reading("blood_pressure", v, T0 + timedelta(hours=12 * i), 80)
                for i, v in enumerate(systolic)]
    assert cusum(readings, spec=TREND_SPECS["blood_pressure"], start=T0) == []


def test_a_wild_value_far_beyond_the_gate_is_set_aside_even_repeated_once() -> None:
    values = steady(70, 2.0, 40, seed=5)
    values[30] = values[31] = 140           # two sensor errors in a row: still set aside
    readings = daily("resting_heart_rate", values)
    assert cusum(readings, spec=TREND_SPECS["resting_heart_rate"], start=T0) == []


def test_a_resting_heart_rate_rise_is_a_trend() -> None:
    values = steady(64, 2.0, 35, seed=7) + [64 + 2 * d for d in range(1, 8)]
    found = cusum(daily("resting_heart_rate", values), spec=TREND_SPECS["resting_heart_rate"],
                  start=T0)
    assert found and found[0].measure == "resting_heart_rate"
    assert reason(found[0]).startswith("resting heart rate")


def test_heart_failure_rule_more_than_2_kg_in_3_days() -> None:
    values = [81.0, 81.2, 81.1, 81.0, 81.9, 82.6, 83.4]
    found = weight_gain(daily("weight", values), rule=WeightGainRule(), start=T0)
    assert [f.evidence_at for f in found] == [T0 + timedelta(days=6)]
    assert reason(found[0]) == "weight +2.4 kg in 3 days (81 → 83.4 kg)"
    # exactly 2 kg is not "more than 2 kg"; neither is a gain spread over 5 days
    assert weight_gain(daily("weight", [81.0, 81.0, 81.0, 83.0]), rule=WeightGainRule(),
                       start=T0) == []
    slow = [81.0, 81.5, 82.0, 82.5, 83.0, 83.5]
    assert weight_gain(daily("weight", slow), rule=WeightGainRule(), start=T0) == []


def cgm(values: list[float]) -> list[Reading]:
    return [Reading("glucose", v, T0 + timedelta(minutes=5 * i)) for i, v in enumerate(values)]


def test_a_falling_glucose_is_warned_of_before_the_low() -> None:
    values = [7.0, 7.1, 6.9, 7.0, 6.6, 6.2, 5.8, 5.4, 5.0, 4.6, 4.2, 3.8, 3.4]
    readings = cgm(values)
    found = predicted_lows(readings, target=GLUCOSE, start=T0)
    first_low = next(r.at for r in readings if r.value < 3.9)
    assert found and found[0].kind == FindingKind.forecast
    assert found[0].direction == Direction.low
    assert first_low - found[0].evidence_at >= timedelta(minutes=15)
    assert reason(found[0]) == "glucose 5 mmol/L falling 4.8 mmol/L/h: 3.4 predicted in 20 min"


def test_a_steep_fall_is_an_urgent_forecast() -> None:
    found = predicted_lows(cgm([8.0, 7.3, 6.6, 5.9, 5.2]), target=GLUCOSE, start=T0)
    assert found[-1].severity == Severity.urgent


def test_no_forecast_for_a_steady_glucose_one_noisy_point_or_a_gap() -> None:
    assert predicted_lows(cgm([5.2, 5.0, 5.3, 5.1, 5.2, 5.0, 5.1]), target=GLUCOSE,
                          start=T0) == []
    assert predicted_lows(cgm([5.6, 5.5, 5.6, 5.5, 3.9, 5.5]), target=GLUCOSE,
                          start=T0) == []
    gap = [Reading("glucose", v, T0 + timedelta(minutes=m))
           for m, v in ((0, 6.0), (20, 5.0), (40, 4.0))]
    assert predicted_lows(gap, target=GLUCOSE, start=T0) == []


def test_a_compression_low_is_a_sensor_artefact_not_a_forecast() -> None:
    # lying on the sensor at night: 6.2 to 4.4 in five minutes, faster than glucose can fall
    values = [6.3, 6.2, 6.2, 6.1, 4.4, 4.3, 4.1, 4.0, 4.1]
    assert predicted_lows(cgm(values), target=GLUCOSE, start=T0) == []


def test_a_noise_dip_at_the_end_of_a_meal_decline_is_not_a_predicted_low() -> None:
    # after a meal, glucose comes down; the sensor dips twice (6.6, 6.0) and is back up at
    # 6.4: the slope of the last 20 minutes still falls, but the fall has stopped
    values = [8.4, 8.1, 7.8, 7.5, 7.2, 7.5, 7.8, 7.2, 6.6, 6.0, 6.4, 7.1, 7.6, 9.0]
    assert predicted_lows(cgm(values), target=GLUCOSE, start=T0) == []

