"""Out of range against personal targets: in range is quiet, a warning needs persistence
(by count or by minutes), an urgent value alerts at once, history is not news, and the
presets carry their sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant.domain.cadence import Cadence
from assistant.domain.detection import Plan, detect, out_of_range
from assistant.domain.findings import Direction, FindingKind, Reading, Severity
from assistant.domain.targets import DEFAULTS, PRESETS, Levels, Target, targets_for
from assistant.services.wording import reason
from bench.cohort import generate

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
BP = Target("blood_pressure", Levels(urgent_high=180, warning_high=140, warning_low=90),
            Levels(urgent_high=120, warning_high=90, warning_low=60), persist_count=3)
GLUCOSE = Target("glucose", Levels(urgent_low=3.0, warning_low=3.9, warning_high=13.9),
                 persist_count=3, persist_minutes=15)


def bp(hours: float, systolic: float, diastolic: float = 80) -> Reading:
    return Reading("blood_pressure", systolic, T0 + timedelta(hours=hours), diastolic)


def glucose(minutes: float, value: float) -> Reading:
    return Reading("glucose", value, T0 + timedelta(minutes=minutes))


def test_readings_in_range_find_nothing() -> None:
    readings = [bp(12 * i, 128 + i % 3, 82) for i in range(10)]
    assert out_of_range(readings, target=BP, start=T0) == []


def test_a_warning_needs_k_readings_in_a_row() -> None:
    readings = [bp(0, 150), bp(12, 152), bp(24, 131), bp(36, 148), bp(48, 151), bp(60, 149)]
    found = out_of_range(readings, target=BP, start=T0)
    # two high, one back in range (the count starts again), then three high in a row
    assert [f.evidence_at for f in found] == [bp(60, 0).at]
    assert found[0].severity == Severity.warning and found[0].direction == Direction.high
    assert found[0].reason == ("blood pressure 149/80 mmHg: at or above 140 systolic, "
                               "3 readings in a row")


def test_a_warning_by_minutes_out_of_range() -> None:
    target = Target("spo2", Levels(warning_low=92, urgent_low=85), persist_count=10,
                    persist_minutes=30)
    readings = [Reading("spo2", 90, T0 + timedelta(minutes=m)) for m in (0, 10, 20, 30)]
    found = out_of_range(readings, target=target, start=T0)
    assert [f.evidence_at for f in found] == [T0 + timedelta(minutes=30)]
    assert found[0].reason == "spo2 90 %: below 92 for 30 min"


def test_an_urgent_value_alerts_at_once() -> None:
    found = out_of_range([bp(0, 132), bp(12, 184, 96)], target=BP, start=T0)
    assert len(found) == 1
    assert found[0].severity == Severity.urgent and found[0].kind == FindingKind.reading
    assert found[0].reason == "blood pressure 184/96 mmHg: at or above 180 systolic"
    assert found[0].evidence_at == bp(12, 0).at


def test_an_urgent_diastolic_alone_alerts_and_names_it() -> None:
    found = out_of_range([bp(0, 150, 122)], target=BP, start=T0)
    assert found[0].severity == Severity.urgent
    assert found[0].reason.endswith("at or above 120 diastolic")


def test_a_level_2_low_glucose_is_urgent_and_a_level_1_low_waits_15_minutes() -> None:
    assert out_of_range([glucose(0, 2.9)], target=GLUCOSE, start=T0)[0].severity == "urgent"
    # CGM every 5 min: below 3.9 for 15 min or 3 readings in a row
    readings = [glucose(m, v) for m, v in ((0, 4.2), (5, 3.8), (10, 3.7), (15, 3.7))]
    found = out_of_range(readings, target=GLUCOSE, start=T0)
    assert [f.evidence_at for f in found] == [glucose(15, 0).at]
    assert found[0].direction == Direction.low and found[0].severity == Severity.warning


def test_history_counts_towards_persistence_but_is_never_a_finding() -> None:
    now = T0 + timedelta(days=10)
    old = [bp(0, 190, 100), bp(12, 150), bp(24, 150)]   # 9+ days ago: history
    recent = [bp(24 * 9 + 12, 150)]                       # the third high in a row
    found = detect(old + recent, plan=Plan(targets={"blood_pressure": BP}, trend_measures=()),
                   now=now)
    assert [f.evidence_at for f in found] == [recent[0].at]
    assert detect(old, plan=Plan(targets={"blood_pressure": BP}, trend_measures=()), now=now) == []


def test_a_short_lookback_makes_more_history() -> None:
    plan = Plan(targets={"blood_pressure": BP}, trend_measures=())
    readings = [bp(0, 190, 100)]
    assert detect(readings, plan=plan, now=T0 + timedelta(hours=5)) != []
    assert detect(readings, plan=plan, now=T0 + timedelta(hours=5),
                  lookback=timedelta(hours=4)) == []


def test_readings_arriving_late_are_evaluated_in_effective_time_order() -> None:
    plan = Plan(targets={"blood_pressure": BP}, trend_measures=())
    late_first = [bp(60, 149), bp(36, 148), bp(48, 151), bp(24, 131)]
    found = detect(late_first, plan=plan, now=T0 + timedelta(days=3))
    assert [f.evidence_at for f in found] == [bp(60, 0).at]


def test_detect_runs_every_detector_and_missing_data() -> None:
    daily = Cadence("weight", every=timedelta(days=1), grace=timedelta(days=1))
    plan = Plan(targets={}, trend_measures=(), cadences=(daily,), expected_from=T0)
    weights = [Reading("weight", 80.0, T0 + timedelta(days=d)) for d in range(3)]
    now = T0 + timedelta(days=5)
    [finding] = detect(weights, plan=plan, now=now)
    assert finding.kind == FindingKind.missing_data and finding.at == now
    assert finding.evidence_at == weights[-1].at
    assert reason(finding) == "no weight for 3 days (expected every 24 h)"


def test_presets_name_their_sources_and_targets_fall_back_to_team_then_defaults() -> None:
    assert "ACC/AHA" in PRESETS["hypertension"].source
    assert "2 kg in 3 days" in PRESETS["heart_failure"].source
    assert PRESETS["heart_failure"].weight_gain is not None
    assert "3.9" in PRESETS["diabetes"].source and "3.0" in PRESETS["diabetes"].source
    assert "88–92" in PRESETS["copd"].source
    team = {"spo2": Target("spo2", Levels(warning_low=90))}
    mine = {"spo2": PRESETS["copd"].targets[0]}
    assert targets_for(patient={}, team=team)["spo2"] == team["spo2"]
    assert targets_for(patient=mine, team=team)["spo2"] == mine["spo2"]
    assert targets_for(patient={})["glucose"] == DEFAULTS["glucose"]


def test_a_heart_failure_plan_finds_the_fluid_gain_only_within_the_lookback() -> None:
    preset = PRESETS["heart_failure"]
    plan = Plan(targets=targets_for(patient={t.measure: t for t in preset.targets}),
                weight_gain=preset.weight_gain, trend_measures=("weight",))
    weights = [81.0 + 0.1 * (d % 3) for d in range(30)] + [81.8, 82.6, 83.4, 83.6]
    readings = [Reading("weight", w, T0 + timedelta(days=d)) for d, w in enumerate(weights)]
    now = readings[-1].at + timedelta(hours=1)
    found = detect(readings, plan=plan, now=now)
    assert {f.kind for f in found} == {FindingKind.trend}
    assert "weight +2.2 kg in 3 days (81.2 → 83.4 kg)" in [reason(f) for f in found]
    assert all(f.direction == Direction.high and f.measure == "weight" for f in found)
    # a week later the same gain is history: baseline, never news
    assert detect(readings, plan=plan, now=now + timedelta(days=8)) == []


def test_the_benchmark_cohort_is_seeded_and_labelled() -> None:
    first, again = generate(seed=5, patients=3), generate(seed=5, patients=3)
    assert [p.readings for p in first] == [p.readings for p in again]
    assert [p.condition for p in first] == ["heart_failure", "hypertension", "diabetes"]
    assert all(e.onset < e.window_end and e.onset < e.active_until
               for p in first for e in p.events)
