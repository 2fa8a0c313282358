"""Benchmark: the monitoring detectors on a synthetic cohort (`bench.cohort`).

Prints, per detector and per deterioration kind, the sensitivity (a finding on the
deteriorating measure between its onset and the end of its window) and the false alerts per
patient-month (alerts opened, one per measure and direction as `domain.alert_state` opens
them, outside any labelled deterioration of that measure), beside the baseline of static
thresholds alone (every reading compared with the targets, no persistence: what CareLoop did
before monitoring) measured in the same run. Targets: sensitivity >= 0.9 across kinds,
<= 0.5 false alerts per patient-month.

The detectors were tuned on seed 1; the figures to report are those of another seed (the
default, 2027).

    .venv/bin/python -m bench.detection [--seed 2027] [--patients 150]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from assistant.domain import alert_state, cadence, forecast, trends
from assistant.domain.detection import out_of_range
from assistant.domain.findings import Finding, FindingKind
from bench.cohort import START, Event, Patient, generate

KINDS = ("hf_fluid", "bp_rise", "rhr_rise", "glucose_low", "stopped")
EVERY = timedelta(hours=6)          # how often missing data is looked at
Detector = Callable[[Patient], list[Finding]]


def static(p: Patient) -> list[Finding]:
    found = []
    for target in p.targets.values():
        once = replace(target, persist_count=1, persist_minutes=None)
        found += out_of_range(p.readings, target=once, start=START)
    return found


def persistent(p: Patient) -> list[Finding]:
    return [f for t in p.targets.values() for f in out_of_range(p.readings, target=t,
                                                                start=START)]


def trend(p: Patient) -> list[Finding]:
    return [f for m in p.trends for f in trends.cusum(p.readings, spec=trends.TREND_SPECS[m],
                                                      start=START)]


def hf_rule(p: Patient) -> list[Finding]:
    if p.weight_gain is None:
        return []
    return trends.weight_gain(p.readings, rule=p.weight_gain, start=START)


def predicted(p: Patient) -> list[Finding]:
    glucose = p.targets.get("glucose")
    if glucose is None:
        return []
    return forecast.predicted_lows(p.readings, target=glucose, start=START)


def missing(p: Patient) -> list[Finding]:
    if not p.cadences:
        return []
    found, now = [], START + EVERY
    while now <= p.end:
        found += cadence.missing(p.readings, cadences=p.cadences, now=now,
                                 expected_from=START)
        now += EVERY
    return found


def combined(p: Patient) -> list[Finding]:
    return sorted(persistent(p) + trend(p) + hf_rule(p) + predicted(p) + missing(p),
                  key=lambda f: f.concluded_at)


DETECTORS: dict[str, Detector] = {
    "static thresholds (baseline)": static, "out of range, persistent": persistent,
    "trend (CUSUM)": trend, "heart-failure weight rule": hf_rule,
    "glucose forecast": predicted, "missing data": missing, "all detectors": combined}


def _matches(finding_measure: str, kind: FindingKind | None, event: Event) -> bool:
    if event.measure is None:
        return kind == FindingKind.missing_data
    return finding_measure == event.measure and kind != FindingKind.missing_data


def score(cohort: list[Patient], detector: Detector
          ) -> tuple[dict[str, tuple[int, int]], dict[str, int], list[float]]:
    """Per kind (detected, total), the false alerts per finding kind and measure, and the
    forecast's lead times."""
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false: dict[str, int] = defaultdict(int)
    leads = []
    for p in cohort:
        found = detector(p)
        for e in p.events:
            hit = [f for f in found if _matches(f.measure, f.kind, e)
                   and (f.direction == e.direction or e.measure is None)
                   and e.onset <= f.concluded_at <= e.window_end]
            hits[e.kind][1] += 1
            hits[e.kind][0] += bool(hit)
            if hit and e.crosses_at is not None:
                leads.append((e.crosses_at - hit[0].concluded_at).total_seconds() / 60)
        decisions, _ = alert_state.reconcile(open_alerts=[], findings=found,
                                             readings=p.readings, targets=p.targets)
        for d in decisions:
            if d.action != alert_state.Action.open or d.finding is None:
                continue
            f = d.finding
            if not any(_matches(f.measure, f.kind, e) and e.onset <= d.at <= e.active_until
                       for e in p.events):
                false[f"{f.kind} {f.measure}"] += 1
    return {k: (v[0], v[1]) for k, v in hits.items()}, false, leads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--patients", type=int, default=150)
    args = parser.parse_args()
    began = time.perf_counter()
    cohort = generate(seed=args.seed, patients=args.patients)
    months = sum(p.days for p in cohort) / 30
    events = defaultdict(int)
    for p in cohort:
        for e in p.events:
            events[e.kind] += 1
    print(f"cohort: seed {args.seed}, {len(cohort)} patients, {months:.0f} patient-months, "
          f"{sum(len(p.readings) for p in cohort):,} readings; deteriorations: "
          + ", ".join(f"{k} {events[k]}" for k in KINDS)
          + f" (generated in {time.perf_counter() - began:.0f} s)")
    print(f"{'detector':30}" + "".join(f"{k:>13}" for k in KINDS)
          + f"{'min sens':>10}{'false/pt-mo':>13}")
    for name, detector in DETECTORS.items():
        hits, false, leads = score(cohort, detector)
        sens = [hits[k][0] / hits[k][1] if hits.get(k, (0, 0))[1] else float("nan")
                for k in KINDS]
        print(f"{name:30}" + "".join(f"{s:>13.2f}" for s in sens)
              + f"{min(sens):>10.2f}{sum(false.values()) / months:>13.2f}")
        if name == "all detectors":
            print(f"{'':30}false alerts per patient-month: " + ", ".join(
                f"{k} {v / months:.2f}" for k, v in sorted(false.items(), key=lambda i: -i[1])))
        if leads and name in ("glucose forecast", "all detectors",
                              "static thresholds (baseline)"):
            print(f"{'':30}glucose lows: first finding a median {statistics.median(leads):.0f}"
                  f" min before the true value fell below 3.9 "
                  f"({sum(lead > 0 for lead in leads)}/{len(leads)} before it)")
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
