"""A synthetic, seeded cohort for the detection benchmark: heart-failure, hypertension and
diabetes (CGM) patients with day-to-day variation, missing days, measuring errors (a 10 kg
typo, a cuff error, CGM compression lows, sensor gaps) and injected deteriorations of each
kind, labelled with their onset.

The parameters below were fixed from clinical plausibility before any detector was tuned,
and are not tuned to the detectors:
- weight: daily, morning; a slow fluid/diet drift (AR(1), SD ~0.45 kg) plus 0.25 kg of
  scale/clothes noise; 10 % of days missing;
- resting heart rate (wearable, daily): drift SD ~2 /min plus 2 /min noise; 5 % missing;
- blood pressure, morning and evening: a day effect of SD 4 and a reading SD of 7 mmHg
  systolic (home BP variability, Stergiou et al., J Hypertens 2021); 15 % missing;
- CGM every 5 min: meals of +1.5-4 mmol/L, a sensor error of SD ~0.4 mmol/L, gaps of
  20-90 min on 30 % of days, a compression low (-1.5 to -3 mmol/L for 15-40 min at night)
  about once a fortnight;
- deteriorations: heart-failure fluid gain of 2-3 kg over 3-7 days; a systolic rise of
  15-30 mmHg over 7-21 days; a resting heart rate rise of 10-20 /min over 2-7 days; glucose
  falling 3-7 mmol/L/h to a nadir of 2.6-3.5 mmol/L; stopping measuring altogether.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from assistant.domain import cadence
from assistant.domain.findings import Direction, Reading
from assistant.domain.targets import DEFAULTS, PRESETS, Levels, Target, WeightGainRule

START = datetime(2027, 1, 4, tzinfo=UTC)
DAYS = 60
CGM_DAYS = 28
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Event:
    """One injected deterioration: detection counts within [onset, window_end]; an alert on
    the measure while the deterioration lasts (until `active_until`) is not false."""
    kind: str                       # hf_fluid, bp_rise, rhr_rise, glucose_low, stopped
    measure: str | None             # None: any measure (stopped measuring)
    direction: Direction | None
    onset: datetime
    window_end: datetime
    active_until: datetime
    crosses_at: datetime | None = None  # glucose: when the true value fell below 3.9
    half_at: datetime | None = None     # a ramp: when it reached half its size


@dataclass
class Patient:
    id: int
    condition: str                  # heart_failure, hypertension, diabetes
    days: int
    targets: dict[str, Target]
    weight_gain: WeightGainRule | None
    cadences: tuple[cadence.Cadence, ...]
    trends: tuple[str, ...]
    readings: list[Reading] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        return START + self.days * DAY


def _ar(rng: random.Random, n: int, phi: float, sd: float) -> list[float]:
    out, x = [], rng.gauss(0, sd / math.sqrt(1 - phi * phi))
    for _ in range(n):
        x = phi * x + rng.gauss(0, sd)
        out.append(x)
    return out


def _ramp(at: datetime, onset: datetime, span: timedelta, size: float,
          until: datetime | None = None) -> float:
    if at < onset or (until is not None and at >= until):
        return 0.0
    return size * min(1.0, (at - onset) / span)


def _daily_time(rng: random.Random, day: int, hour: float) -> datetime:
    return START + day * DAY + timedelta(hours=hour + rng.uniform(-0.5, 0.5))


def _chronic(rng: random.Random, pid: int, condition: str) -> Patient:
    hf = condition == "heart_failure"
    # the hypertension preset for hypertension; the team default for heart failure, whose
    # treatment keeps blood pressure low (the preset's 90/60 low would alarm daily)
    bp_target = DEFAULTS["blood_pressure"] if hf else PRESETS["hypertension"].targets[0]
    dry = rng.uniform(60, 110)
    targets = {"blood_pressure": bp_target,
               "resting_heart_rate": Target("resting_heart_rate", Levels(
                   urgent_low=40, warning_low=45, warning_high=100, urgent_high=130))}
    if hf:  # the static self-care threshold a team would set: dry weight + 3 kg
        targets["weight"] = Target("weight", Levels(warning_high=round(dry + 3, 1)))
    p = Patient(pid, condition, DAYS, targets, PRESETS["heart_failure"].weight_gain if hf
                else None, (cadence.DAILY_WEIGHT, cadence.TWICE_DAILY_BP) if hf
                else (cadence.TWICE_DAILY_BP,),
                ("weight", "resting_heart_rate", "blood_pressure") if hf
                else ("resting_heart_rate", "blood_pressure"))
    day0 = START + 30 * DAY
    stop = day0 + rng.uniform(5, 25) * DAY if rng.random() < 0.15 else None
    fluid = rise = rhr = None
    if hf and rng.random() < 0.6:
        onset, span = day0 + rng.uniform(2, 20) * DAY, rng.uniform(3, 7) * DAY
        fluid = (onset, span, rng.uniform(2, 3))
        p.events.append(Event("hf_fluid", "weight", Direction.high, onset,
                              onset + span + 2 * DAY, p.end, half_at=onset + span / 2))
    if rng.random() < (0.2 if hf else 0.5):
        onset, span = day0 + rng.uniform(0, 15) * DAY, rng.uniform(7, 21) * DAY
        rise = (onset, span, rng.uniform(15, 30))
        p.events.append(Event("bp_rise", "blood_pressure", Direction.high, onset,
                              onset + span + 7 * DAY, p.end, half_at=onset + span / 2))
    if rng.random() < 0.3:
        onset, span = day0 + rng.uniform(2, 20) * DAY, rng.uniform(2, 7) * DAY
        back = onset + span + rng.uniform(5, 10) * DAY
        rhr = (onset, span, rng.uniform(10, 20), back)
        p.events.append(Event("rhr_rise", "resting_heart_rate", Direction.high, onset,
                              onset + span + 3 * DAY, back + DAY, half_at=onset + span / 2))
    if stop is not None:
        p.events.append(Event("stopped", None, None, stop, stop + 3 * DAY, p.end))

    drift_w, drift_hr = _ar(rng, DAYS, 0.9, 0.2), _ar(rng, DAYS, 0.8, 1.2)
    day_bp = [rng.gauss(0, 4) for _ in range(DAYS)]
    base_hr = rng.uniform(55, 80)
    base_sbp = rng.uniform(105, 130) if hf else rng.uniform(118, 138)
    base_dbp = base_sbp * 0.6 + rng.gauss(0, 3)
    for d in range(DAYS):
        if hf and rng.random() > 0.10:
            at = _daily_time(rng, d, 7)
            extra = _ramp(at, fluid[0], fluid[1], fluid[2]) if fluid else 0.0
            value = dry + drift_w[d] + extra + rng.gauss(0, 0.25)
            if rng.random() < 1 / DAYS:   # a 10 kg typo
                value += rng.choice((-10, 10))
            p.readings.append(Reading("weight", round(value, 1), at))
        if rng.random() > 0.05:
            at = _daily_time(rng, d, 6)
            extra = _ramp(at, rhr[0], rhr[1], rhr[2], rhr[3]) if rhr else 0.0
            p.readings.append(Reading("resting_heart_rate",
                                      round(base_hr + drift_hr[d] + extra + rng.gauss(0, 2)), at))
        for hour in (7.5, 19.5):
            if rng.random() < 0.15:
                continue
            at = _daily_time(rng, d, hour)
            extra = _ramp(at, rise[0], rise[1], rise[2]) if rise else 0.0
            sbp = base_sbp + day_bp[d] + extra + rng.gauss(0, 7)
            dbp = base_dbp + 0.5 * (day_bp[d] + extra) + rng.gauss(0, 5)
            if rng.random() < 1.5 / (2 * DAYS):   # a cuff error: loose cuff, arm hanging
                sbp, dbp = sbp + rng.uniform(20, 35), dbp + rng.uniform(8, 15)
            p.readings.append(Reading("blood_pressure", round(sbp), at, round(dbp)))
    if stop is not None:   # what the patient's readings never showed cannot be seen: a
        # deterioration counts only once it reached half its size before they stopped
        p.readings = [r for r in p.readings if r.at < stop]
        p.events = [e for e in p.events if e.kind == "stopped"
                    or max(e.onset + DAY, e.half_at or e.onset) < stop]
    p.readings.sort(key=lambda r: r.at)
    return p


def _meal(minutes: float, size: float) -> float:
    """A meal's rise, peaking about 45 min after it and gone by about 3 h."""
    return 0.0 if minutes < 0 else size * (minutes / 45) * math.exp(1 - minutes / 45)


def _cgm(rng: random.Random, pid: int) -> Patient:
    p = Patient(pid, "diabetes", CGM_DAYS, {"glucose": PRESETS["diabetes"].targets[0]},
                None, (), ())
    n = CGM_DAYS * 288
    mean = rng.uniform(6.5, 8.5)
    meals = [(d * 1440 + h * 60 + rng.uniform(-30, 30), rng.uniform(1.5, 4))
             for d in range(CGM_DAYS) for h in (7.5, 12.5, 19)]
    slow = _ar(rng, n, 0.995, 0.05)
    sensor = _ar(rng, n, 0.7, 0.28)
    true = [mean + slow[i] for i in range(n)]
    for m, size in meals:
        for i in range(max(0, math.ceil(m / 5)), min(n, int((m + 400) / 5))):
            true[i] += _meal(i * 5 - m, size)
    true = [v if v >= 4.6 else 4.6 + (v - 4.6) * 0.2 for v in true]   # no untold lows
    days = rng.sample(range(2, CGM_DAYS - 1, 2), rng.randint(1, 4))
    for d in sorted(days):   # falls toward a hypo (insulin, exercise), then treated
        i0 = d * 288 + rng.randrange(288)
        rate, nadir = rng.uniform(3, 7) / 60 * 5, rng.uniform(2.6, 3.5)
        hold = rng.randint(3, 8)
        level, i, crossed = true[i0], i0, None
        while level > nadir and i < n:
            level -= rate
            true[i] = min(true[i], level)
            crossed = crossed or (i if level < 3.9 else None)
            i += 1
        for j in range(i, min(n, i + hold)):
            true[j] = min(true[j], nadir)
        level, i = nadir, i + hold
        while i < n and level < true[i]:
            true[i], level, i = level, level + 0.5, i + 1
        at = START + timedelta(minutes=5 * i0)
        cross = START + timedelta(minutes=5 * (crossed or i0))
        p.events.append(Event("glucose_low", "glucose", Direction.low, at,
                              cross + timedelta(minutes=20), START + timedelta(minutes=5 * i)
                              + timedelta(minutes=30), crosses_at=cross))
    gaps = set(_gaps(rng))
    for _ in range(_poisson(rng, CGM_DAYS / 14)):   # compression lows at night
        i0 = rng.randrange(CGM_DAYS) * 288 + rng.randrange(12, 60)
        depth, length = rng.uniform(1.5, 3.0), rng.randint(3, 8)
        for j in range(i0, min(n, i0 + length)):
            sensor[j] -= depth
    for i in range(n):
        if i not in gaps:
            at = START + timedelta(minutes=5 * i, seconds=rng.uniform(-20, 20))
            p.readings.append(Reading("glucose", round(max(2.2, true[i] + sensor[i]), 1), at))
    return p


def _gaps(rng: random.Random) -> Iterator[int]:
    for d in range(CGM_DAYS):
        if rng.random() < 0.3:
            i0, length = d * 288 + rng.randrange(288), rng.randint(4, 18)
            yield from range(i0, i0 + length)


def _poisson(rng: random.Random, mean: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-mean)
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def generate(*, seed: int, patients: int = 150) -> list[Patient]:
    """`patients` patients, one condition in turn (heart failure, hypertension, diabetes)."""
    rng = random.Random(seed)
    cohort = []
    for pid in range(patients):
        condition = ("heart_failure", "hypertension", "diabetes")[pid % 3]
        cohort.append(_cgm(rng, pid) if condition == "diabetes" else _chronic(rng, pid,
                                                                                condition))
    return cohort
