"""One open alert per measure and direction: open, update with new evidence, all-clear when
values come back, no re-raise of resolved evidence, snoozing a high never silences a low;
and missing data as the care plan expects it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant.domain.alert_state import Action, Decision, Key, OpenAlert, reconcile
from assistant.domain.cadence import Cadence, missing
from assistant.domain.detection import out_of_range
from assistant.domain.findings import Direction, FindingKind, Reading, Severity
from assistant.domain.targets import Levels, Target
from assistant.services.wording import reason

T0 = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
GLUCOSE = Target("glucose", Levels(urgent_low=3.0, warning_low=3.9, warning_high=13.9),
                 persist_count=3, persist_minutes=15)
DAILY_WEIGHT = Cadence("weight", every=timedelta(days=1), grace=timedelta(days=1))
TWICE_DAILY_BP = Cadence("blood_pressure", every=timedelta(hours=12), grace=timedelta(hours=24))
TARGETS = {"glucose": GLUCOSE}
HIGH = ("glucose", Direction.high)
LOW = ("glucose", Direction.low)


def cgm(values: list[float], start: int = 0) -> list[Reading]:
    return [Reading("glucose", v, T0 + timedelta(minutes=5 * (start + i)))
            for i, v in enumerate(values)]


def run(readings: list[Reading], *, open_alerts: list[OpenAlert],
        snoozed: dict[Key, datetime] | None = None
        ) -> tuple[list[Decision], dict[Key, OpenAlert]]:
    findings = out_of_range(readings, target=GLUCOSE, start=T0)
    return reconcile(open_alerts=open_alerts, findings=findings, readings=readings,
                     targets=TARGETS, snoozed=snoozed)


def test_one_alert_per_measure_and_direction_updated_by_new_evidence() -> None:
    readings = cgm([15.0, 15.2, 15.5, 16.0, 16.4, 17.0])
    decisions, state = run(readings, open_alerts=[])
    assert [d.action for d in decisions] == [Action.open, Action.update, Action.update,
                                             Action.update]
    assert [d.notify for d in decisions] == [True, False, False, False]
    assert list(state) == [HIGH]
    assert state[HIGH].finding.evidence_at == readings[-1].at


def test_an_escalation_to_urgent_is_news_again() -> None:
    readings = cgm([3.8, 3.7, 3.6, 2.9])
    decisions, _ = run(readings, open_alerts=[])
    assert [(d.action, d.notify) for d in decisions] == [(Action.open, True),
                                                         (Action.update, True)]
    assert decisions[-1].finding is not None
    assert decisions[-1].finding.severity == Severity.urgent


def test_all_clear_when_values_come_back_into_range() -> None:
    readings = cgm([3.8, 3.7, 3.6, 3.5, 4.2, 4.6, 5.0, 5.2, 5.4, 5.5, 5.6, 5.6])
    decisions, state = run(readings, open_alerts=[])
    assert [d.action for d in decisions] == [Action.open, Action.update, Action.clear]
    clear = decisions[-1]
    assert clear.notify and clear.key == LOW
    # quiet for 30 min after the last low finding (at 15 min) before it says all clear
    assert clear.at == T0 + timedelta(minutes=45)
    assert state == {}


def test_an_all_clear_needs_values_in_range_not_only_no_new_finding() -> None:
    minutes = {0: 3.8, 5: 3.7, 10: 3.6, 15: 4.0, 50: 3.8, 55: 3.8, 60: 3.8}
    readings = [Reading("glucose", v, T0 + timedelta(minutes=m)) for m, v in minutes.items()]
    decisions, state = run(readings, open_alerts=[])
    # 4.0 came too soon to say all clear; the 3.8s at 50 and 55 are not yet persistent
    # (no finding) but are not in range either: the alert stays open until evidence at 60
    assert [(d.action, d.at) for d in decisions] == [(Action.open, readings[2].at),
                                                     (Action.update, readings[-1].at)]
    assert list(state) == [LOW]


def test_the_same_evidence_does_not_reopen_a_resolved_alert() -> None:
    readings = cgm([3.8, 3.7, 3.6])
    findings = out_of_range(readings, target=GLUCOSE, start=T0)
    # a clinician resolved the alert raised on the third reading; the device resends it
    decisions, state = reconcile(open_alerts=[], findings=findings, readings=readings,
                                 targets=TARGETS, resolved={LOW: readings[-1].at})
    assert decisions == [] and state == {}
    # newer evidence is news
    more = readings + cgm([3.5], start=3)
    decisions, _ = reconcile(open_alerts=[], readings=more, targets=TARGETS,
                             findings=out_of_range(more, target=GLUCOSE, start=T0),
                             resolved={LOW: readings[-1].at})
    assert [d.action for d in decisions] == [Action.open]


def test_an_open_alert_from_the_store_is_updated_not_duplicated() -> None:
    readings = cgm([16.0, 16.2, 16.4])
    first = out_of_range(readings, target=GLUCOSE, start=T0)[0]
    stored = OpenAlert(first, first.evidence_at)
    later = cgm([16.8, 17.1], start=3)
    decisions, state = reconcile(open_alerts=[stored], readings=later, targets=TARGETS,
                                 findings=out_of_range(readings + later, target=GLUCOSE,
                                                       start=later[0].at))
    assert [d.action for d in decisions] == [Action.update, Action.update]
    assert list(state) == [HIGH]


def test_snoozing_a_high_never_silences_a_low() -> None:
    snooze = {HIGH: T0 + timedelta(hours=4)}
    highs = cgm([15.0, 15.2, 15.5])
    decisions, _ = run(highs, open_alerts=[], snoozed=snooze)
    assert decisions == []            # held back while the snooze lasts
    lows = cgm([3.8, 3.7, 3.6], start=20)
    decisions, _ = run(lows, open_alerts=[], snoozed=snooze)
    assert [(d.action, d.key, d.notify) for d in decisions] == [(Action.open, LOW, True)]


def test_a_snooze_never_holds_back_an_urgent_value() -> None:
    decisions, _ = run(cgm([2.8]), open_alerts=[], snoozed={LOW: T0 + timedelta(hours=4)})
    assert [(d.action, d.notify) for d in decisions] == [(Action.open, True)]


def test_missing_data_when_the_expected_cadence_is_not_met() -> None:
    weights = [Reading("weight", 80.0, T0 + timedelta(days=d)) for d in range(3)]
    bps = [Reading("blood_pressure", 130, T0 + timedelta(hours=12 * i), 80) for i in range(8)]
    cadences = (DAILY_WEIGHT, TWICE_DAILY_BP)
    # a day without a weight is allowed; a second day without one is missing
    assert missing(weights + bps, cadences=cadences, now=T0 + timedelta(days=3, hours=23),
                   expected_from=T0) == []
    [found] = missing(weights + bps, cadences=cadences, now=T0 + timedelta(days=4, hours=1),
                      expected_from=T0)
    assert found.kind == FindingKind.missing_data and found.measure == "weight"
    assert found.evidence_at == weights[-1].at and found.direction is None
    # nothing ever came: counted from the start of the plan
    [never] = missing([], cadences=(DAILY_WEIGHT,), now=T0 + timedelta(days=3),
                      expected_from=T0)
    assert never.evidence_at == T0 and reason(never).startswith("no weight for 3 days")


def test_missing_data_is_raised_once_and_cleared_by_the_next_reading() -> None:
    weights = [Reading("weight", 80.0, T0)]
    findings = [f for hours in (50, 56, 62)
                for f in missing(weights, cadences=(DAILY_WEIGHT,),
                                 now=T0 + timedelta(hours=hours), expected_from=T0)]
    assert len(findings) == 3
    back = Reading("weight", 80.4, T0 + timedelta(hours=70))
    decisions, state = reconcile(open_alerts=[], findings=findings,
                                 readings=[*weights, back], targets={})
    assert [d.action for d in decisions] == [Action.open, Action.clear]
    assert decisions[-1].at == back.at and state == {}


def test_a_missing_data_alert_is_cleared_by_a_reading_minutes_after_it() -> None:
    weights = [Reading("weight", 80.0, T0)]
    findings = missing(weights, cadences=(DAILY_WEIGHT,), now=T0 + timedelta(hours=50),
                       expected_from=T0)
    back = Reading("weight", 80.4, T0 + timedelta(hours=50, minutes=5))
    decisions, state = reconcile(open_alerts=[], findings=findings,
                                 readings=[*weights, back], targets={})
    assert [(d.action, d.at) for d in decisions] == [(Action.open, findings[0].at),
                                                      (Action.clear, back.at)]
    assert state == {}
