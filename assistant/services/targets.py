"""Personal targets in storage: a patient's monitoring plan (the patient's targets, else the
team's default rows, else the team's reading thresholds, else CareLoop's defaults; the
heart-failure weight rule and the readings the plan expects), and the care team setting
them: levels checked, a condition preset applied only when a clinician names it, audited
with who confirmed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from assistant.domain import cadence, findings
from assistant.domain.detection import Plan
from assistant.domain.findings import Direction, Severity
from assistant.domain.measures import MEASURES
from assistant.domain.targets import DEFAULTS, PRESETS, Levels, Target, targets_for
from assistant.errors import InvalidInput
from assistant.services import audit
from assistant.storage.db import utcnow
from assistant.storage.models import CareTeam, MeasureTarget, Patient, Reading

LEVELS = ("urgent_low", "warning_low", "warning_high", "urgent_high")
# The grace after which a missed expected reading is worth a word, per measure (the domain's
# tuned cadences); another measure gets as long again as it is expected every.
GRACE = {c.measure: c.grace for c in (cadence.DAILY_WEIGHT, cadence.TWICE_DAILY_BP,
                                      cadence.DAILY_RESTING_HR, cadence.CGM)}
# A team's reading thresholds (console settings) name the values, not the measures.
THRESHOLD_MEASURES = {"systolic": ("blood_pressure", False),
                      "diastolic": ("blood_pressure", True), "glucose": ("glucose", False),
                      "weight": ("weight", False), "pulse": ("pulse", False),
                      "temperature": ("temperature", False)}


@dataclass(frozen=True)
class TargetIn:
    """One measure's target as the care team sets it."""
    measure: str
    value: Levels
    value2: Levels | None = None
    persist_count: int = 2
    persist_minutes: int | None = None
    expect_every_hours: float | None = None
    preset: str | None = None   # kept when a preset's row is saved again (console form)


def _levels(row: MeasureTarget, suffix: str = "") -> Levels:
    return Levels(**{name: getattr(row, name + suffix) for name in LEVELS})


def to_target(row: MeasureTarget) -> Target:
    second = _levels(row, "2")
    return Target(row.measure, _levels(row), second if any(
        getattr(second, n) is not None for n in LEVELS) else None,
        persist_count=row.persist_count, persist_minutes=row.persist_minutes)


def rows(db: Session, patient: Patient) -> tuple[list[MeasureTarget], list[MeasureTarget]]:
    """The team's default rows and the patient's own rows."""
    found = db.exec(select(MeasureTarget).where(
        MeasureTarget.team_id == patient.team_id,
        col(MeasureTarget.patient_id).is_(None) | (MeasureTarget.patient_id == patient.id))
        .order_by(col(MeasureTarget.id))).all()
    return ([r for r in found if r.patient_id is None],
            [r for r in found if r.patient_id is not None])


def from_thresholds(thresholds: Mapping[str, Mapping[str, float]]) -> dict[str, Target]:
    """The team's static reading thresholds as warning levels that alert at one reading (as
    they always did), on top of the default's urgent levels."""
    found: dict[str, Target] = {}
    for name, bounds in thresholds.items():
        if name not in THRESHOLD_MEASURES:
            continue
        measure, second = THRESHOLD_MEASURES[name]
        target = found.get(measure) or replace(
            DEFAULTS.get(measure) or Target(measure, Levels()), persist_count=1,
            persist_minutes=None)
        levels = (target.value2 or Levels()) if second else target.value
        levels = replace(levels, warning_low=bounds.get("low", levels.warning_low),
                         warning_high=bounds.get("high", levels.warning_high))
        found[measure] = (replace(target, value2=levels) if second
                          else replace(target, value=levels))
    return found


def grade(in_force: Mapping[str, Target], reading: Reading
          ) -> tuple[Severity, Direction] | None:
    """How far a stored reading is out of the targets in force (`plan(...).targets`); None
    when it is in range or its measure is not watched."""
    target = in_force.get(reading.kind)
    return target.grade(findings.Reading(reading.kind, reading.value, reading.taken_at,
                                         reading.value2)) if target else None


def plan(db: Session, patient: Patient) -> Plan:
    """What is watched for the patient now."""
    team_rows, own_rows = rows(db, patient)
    team = db.get(CareTeam, patient.team_id)
    team_targets = from_thresholds(team.reading_thresholds if team else {})
    team_targets.update({r.measure: to_target(r) for r in team_rows})
    targets = targets_for(patient={r.measure: to_target(r) for r in own_rows},
                          team=team_targets)
    in_force = {r.measure: r for r in team_rows} | {r.measure: r for r in own_rows}
    expected = [r for r in in_force.values() if r.expect_every_hours]
    cadences = tuple(cadence.Cadence(
        r.measure, every=timedelta(hours=r.expect_every_hours or 0),
        grace=GRACE.get(r.measure, timedelta(hours=r.expect_every_hours or 0)))
        for r in expected)
    heart_failure = any(r.preset == "heart_failure" for r in in_force.values())
    return Plan(targets=targets,
                weight_gain=PRESETS["heart_failure"].weight_gain if heart_failure else None,
                cadences=cadences,
                expected_from=min((r.confirmed_at or r.updated_at for r in expected),
                                  default=None))


def _check_levels(levels: Levels, where: str) -> None:
    given = [(n, getattr(levels, n)) for n in LEVELS if getattr(levels, n) is not None]
    for name, value in given:
        if not math.isfinite(value):
            raise InvalidInput(f"{where}.{name}: {value} is not a number: give a finite one")
    # low to high: urgent_low <= warning_low < warning_high <= urgent_high
    for (low_name, low), (high_name, high) in zip(given, given[1:], strict=False):
        strict = "high" in high_name and "low" in low_name
        if low > high or (strict and low == high):
            raise InvalidInput(f"{where}.{high_name}: {high:g} must be above {low_name} "
                               f"{low:g} (warning levels lie inside the urgent ones)")


def check(item: TargetIn, where: str) -> None:
    """Levels in order, persistence sensible; InvalidInput naming the field otherwise."""
    if item.measure not in MEASURES:
        raise InvalidInput(f"{where}.measure: unknown measure {item.measure!r}; one of "
                           f"{', '.join(MEASURES)}")
    _check_levels(item.value, f"{where}.value")
    if item.value2 is not None:
        if item.measure != "blood_pressure":
            raise InvalidInput(f"{where}.value2: only blood pressure has a second value")
        _check_levels(item.value2, f"{where}.value2")
    if item.persist_count < 1:
        raise InvalidInput(f"{where}.persist_count: at least 1")


def _row(team_id: int, patient_id: int | None, item: Target | TargetIn, *,
         preset: str | None, member_id: int | None, now: datetime,
         expect_every_hours: float | None = None) -> MeasureTarget:
    value2 = item.value2 or Levels()
    return MeasureTarget(
        team_id=team_id, patient_id=patient_id, measure=item.measure,
        **{n: getattr(item.value, n) for n in LEVELS},
        **{n + "2": getattr(value2, n) for n in LEVELS},
        persist_count=item.persist_count, persist_minutes=item.persist_minutes,
        expect_every_hours=expect_every_hours, preset=preset, confirmed_by=member_id,
        confirmed_at=now if member_id is not None else None, updated_at=now)


def set_targets(db: Session, *, patient: Patient, items: Iterable[TargetIn], actor: str,
                member_id: int | None, preset: str | None = None) -> list[MeasureTarget]:
    """Replace the patient's own targets with `items`, then, when a clinician names a
    preset, its targets (confirmed by `member_id`). Measures not given fall back to the
    team default again."""
    chosen = list(items)
    for index, item in enumerate(chosen):
        check(item, f"targets[{index}]")
    if preset is not None and preset not in PRESETS:
        raise InvalidInput(f"preset: unknown preset {preset!r}; one of {', '.join(PRESETS)}")
    now = utcnow()
    for old in rows(db, patient)[1]:
        db.delete(old)
    db.flush()
    made = [_row(patient.team_id, patient.id, item, preset=item.preset, member_id=member_id,
                 now=now, expect_every_hours=item.expect_every_hours) for item in chosen]
    if preset is not None:
        given = {m.measure for m in made}
        suggested = PRESETS[preset]
        made += [_row(patient.team_id, patient.id, t, preset=preset, member_id=member_id,
                      now=now) for t in suggested.targets if t.measure not in given]
        if suggested.weight_gain is not None and "weight" not in given:
            made.append(_row(patient.team_id, patient.id, Target("weight", Levels()),
                             preset=preset, member_id=member_id, now=now,
                             expect_every_hours=24))
    db.add_all(made)
    db.flush()
    audit.record(db, actor=actor, action="targets.set", patient_id=patient.id,
                 detail=f"targets={len(made)} preset={preset} confirmed_by={member_id}")
    return made


def in_force(db: Session, patient: Patient) -> list[tuple[str, Target, str]]:
    """Each measure's target in force and where it comes from: patient, team or default."""
    team_rows, own_rows = rows(db, patient)
    team = db.get(CareTeam, patient.team_id)
    team_measures = {r.measure for r in team_rows} | set(
        from_thresholds(team.reading_thresholds if team else {}))
    own = {r.measure for r in own_rows}
    found = plan(db, patient).targets
    return [(m, t, "patient" if m in own else "team" if m in team_measures else "default")
            for m, t in sorted(found.items())]
