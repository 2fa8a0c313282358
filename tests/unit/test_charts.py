"""The geometry of a measure's chart: bands at their levels, markers at their evidence
time, dates in the patient's zone, and words for a chart with no readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.domain import charts
from assistant.domain.targets import Levels

END = datetime(2027, 3, 31, 12, tzinfo=UTC)
START = END - timedelta(days=30)
BERLIN = ZoneInfo("Europe/Berlin")


def _value_at(chart: charts.Chart, y: float) -> float:
    """The value a y position stands for, from the chart's own value ticks."""
    (y0, v0), (y1, v1) = [(t.at, float(t.text)) for t in (chart.y_ticks[0], chart.y_ticks[-1])]
    return v0 + (y - y0) * (v1 - v0) / (y1 - y0)


def _glucose(**kwargs: object) -> charts.Chart:
    samples = [charts.Sample(START + timedelta(days=d), 5.0 + (d % 5) * 0.5) for d in range(30)]
    return charts.build(measure="glucose", unit="mmol/L", samples=samples, start=START,
                        end=END, zone=BERLIN, **kwargs)  # type: ignore[arg-type]


def test_bands_lie_at_the_target_levels() -> None:
    chart = _glucose(levels=Levels(urgent_low=3.0, warning_low=3.9, warning_high=13.9))
    by_title = {b.title.split(" from")[0].split(" under")[0]: b for b in chart.bands}
    low = by_title["warning low"]
    assert _value_at(chart, low.y) == pytest.approx(3.9)
    assert _value_at(chart, low.y + low.height) == pytest.approx(3.0)
    assert by_title["urgent low"].level == "urgent"
    assert _value_at(chart, by_title["urgent low"].y) == pytest.approx(3.0)
    high = by_title["warning high"]
    assert _value_at(chart, high.y + high.height) == pytest.approx(13.9)


def test_a_reading_over_a_high_level_sits_inside_its_band() -> None:
    samples = [charts.Sample(START + timedelta(days=1), 150, 95),
               charts.Sample(START + timedelta(days=2), 185, 100)]
    chart = charts.build(measure="blood_pressure", unit="mmHg", samples=samples, start=START,
                         end=END, zone=BERLIN,
                         levels=Levels(warning_high=140, urgent_high=180),
                         levels2=Levels(warning_high=90, urgent_high=120))
    urgent = next(b for b in chart.bands if b.level == "urgent")
    assert urgent.y <= chart.dots[1].y <= urgent.y + urgent.height
    assert _value_at(chart, urgent.y + urgent.height) == pytest.approx(180)
    assert [d.title.split(": ")[1] for d in chart.dots2] == ["diastolic 95", "diastolic 100"]
    assert {line.title for line in chart.lines} >= {"diastolic level 90 mmHg"}


def test_markers_sit_at_the_alerts_evidence_time() -> None:
    middle = START + timedelta(days=15)
    chart = _glucose(marks=[charts.Mark(middle, "urgent", "glucose 2.8 mmol/L"),
                            charts.Mark(START - timedelta(days=2), "high", "too old")])
    assert len(chart.markers) == 1
    assert chart.markers[0].x == pytest.approx((chart.left + chart.right) / 2)
    assert chart.markers[0].title.endswith("urgent: glucose 2.8 mmol/L")
    assert "1 alerts" in chart.summary


def test_the_baseline_is_drawn_at_its_value() -> None:
    chart = _glucose(baseline=6.0)
    assert chart.baseline is not None
    assert _value_at(chart, chart.baseline.y) == pytest.approx(6.0)
    assert "baseline 6 mmol/L" in chart.summary


def test_dates_are_the_patients_local_midnights() -> None:
    chart = _glucose()
    first = chart.x_ticks[0]
    # Berlin midnight of 2 March is 23:00 UTC on 1 March: its x is 11 h after START (12:00).
    assert first.text == "02 Mar"
    hours = (first.at - chart.left) / (chart.right - chart.left) * 30 * 24
    assert hours == pytest.approx(11)


def test_the_summary_says_last_lowest_and_highest() -> None:
    chart = _glucose()
    assert "30 readings" in chart.summary
    assert chart.lowest == "5 mmol/L" and chart.highest == "7 mmol/L"
    assert chart.last == "7 mmol/L on Tue 30 Mar 14:00"     # Berlin, as the console writes


def test_an_empty_series_says_no_readings() -> None:
    chart = charts.build(measure="weight", unit="kg", samples=[], start=START, end=END,
                         zone=BERLIN, levels=Levels(warning_high=90))
    assert chart.empty
    assert chart.summary == "weight: no readings in the last 30 days"
    assert chart.dots == [] and chart.bands == []


def test_thinning_keeps_the_lowest_and_highest() -> None:
    samples = [charts.Sample(START + timedelta(minutes=5 * n), 6.0) for n in range(5000)]
    samples[1234] = charts.Sample(samples[1234].at, 2.4)
    samples[4321] = charts.Sample(samples[4321].at, 19.0)
    kept = charts.thin(samples, most=400)
    assert len(kept) <= 402
    assert {2.4, 19.0} <= {s.value for s in kept}
    assert [s.at for s in kept] == sorted(s.at for s in kept)


def test_blood_pressure_lows_are_lines_not_bands_over_the_diastolic() -> None:
    samples = [charts.Sample(START + timedelta(days=d), 120 + d, 80) for d in range(10)]
    chart = charts.build(measure="blood_pressure", unit="mmHg", samples=samples, start=START,
                         end=END, zone=BERLIN,
                         levels=Levels(warning_low=90, warning_high=140, urgent_high=180),
                         levels2=Levels(warning_low=60, warning_high=90))
    assert all(_value_at(chart, b.y + b.height) >= 140 for b in chart.bands)
    assert [line.title for line in chart.lines if line.kind == "level"] == [
        "systolic warning low 90 mmHg"]


def test_the_table_lists_the_newest_readings_first_graded_against_the_targets() -> None:
    samples = [charts.Sample(START + timedelta(days=d), 150 + 20 * d, 85 + 20 * d, "cuff")
               for d in range(3)]
    rows = charts.table(samples, levels=Levels(warning_high=160, urgent_high=180),
                        levels2=Levels(warning_high=100, urgent_high=120), most=2)
    assert [(r.value, r.grade, r.source) for r in rows] == [
        ("190/125", "urgent high", "cuff"), ("170/105", "warning high", "cuff")]
    assert rows[0].at == samples[-1].at
    diastolic = charts.table([charts.Sample(START, 130, 105)], levels=Levels(warning_high=160),
                             levels2=Levels(warning_high=100))
    assert diastolic[0].grade == "warning high (diastolic)"
    assert charts.table(samples[:1], levels=Levels(warning_high=160))[0].grade == "in range"
    assert charts.table(samples[:1])[0].grade == "no target"
