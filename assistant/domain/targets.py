"""Personal targets: per measure a warning and an urgent level, low and high, with the
persistence a warning needs; and the condition presets a clinician can start from, each with
its source. A preset is a suggestion a clinician confirms (issue 11), never applied silently:
this module only holds the table.

Convention: a value is out of range when it is below a low level (`value < low`) or at or
above a high level (`value >= high`), as the guidelines word them (ADA "< 3.9 mmol/L";
ACC/AHA "≥ 180 mmHg").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.domain.findings import Direction, Reading, Severity


@dataclass(frozen=True, slots=True)
class Levels:
    """The four levels of one value; None where the measure has no such level."""
    urgent_low: float | None = None
    warning_low: float | None = None
    warning_high: float | None = None
    urgent_high: float | None = None

    def grade(self, value: float) -> tuple[Severity, Direction] | None:
        """How far out of range `value` is, or None when it is in range."""
        if self.urgent_low is not None and value < self.urgent_low:
            return Severity.urgent, Direction.low
        if self.urgent_high is not None and value >= self.urgent_high:
            return Severity.urgent, Direction.high
        if self.warning_low is not None and value < self.warning_low:
            return Severity.warning, Direction.low
        if self.warning_high is not None and value >= self.warning_high:
            return Severity.warning, Direction.high
        return None


@dataclass(frozen=True, slots=True)
class Target:
    """A patient's (or the team's default) target for one measure.

    A warning needs `persist_count` readings in a row out of range in the same direction,
    or readings out of range for `persist_minutes` without one back in range between them;
    an urgent value alerts at once. `value2` bounds the diastolic of blood pressure.
    """
    measure: str
    value: Levels
    value2: Levels | None = None
    persist_count: int = 2
    persist_minutes: int | None = None

    def grade(self, reading: Reading) -> tuple[Severity, Direction] | None:
        """The worst of value and value2; urgent beats warning, high beats low at a tie."""
        grades = [self.value.grade(reading.value)]
        if self.value2 is not None and reading.value2 is not None:
            grades.append(self.value2.grade(reading.value2))
        found = [g for g in grades if g is not None]
        if not found:
            return None
        return max(found, key=lambda g: (g[0] == Severity.urgent, g[1] == Direction.high))

    def crossed(self, reading: Reading, direction: Direction, *, urgent: bool
                ) -> list[Crossing]:
        """The levels of the given grade the reading crossed in `direction`: its value's
        (named "systolic" when the target bounds a diastolic too) and its value2's."""
        found = []
        pairs = [(self.value, reading.value, "systolic" if self.value2 is not None else ""),
                 (self.value2, reading.value2, "diastolic")]
        for levels, value, name in pairs:
            if levels is None or value is None:
                continue
            if direction == Direction.high:
                level = levels.urgent_high if urgent else levels.warning_high
                if level is not None and value >= level:
                    found.append(Crossing(name, value, level, above=True))
            else:
                level = levels.urgent_low if urgent else levels.warning_low
                if level is not None and value < level:
                    found.append(Crossing(name, value, level, above=False))
        return found

    def in_range(self, reading: Reading, direction: Direction) -> bool:
        """True when the reading is not out of range in `direction` (an all-clear)."""
        for levels, value in ((self.value, reading.value), (self.value2, reading.value2)):
            if levels is None or value is None:
                continue
            grade = levels.grade(value)
            if grade is not None and grade[1] == direction:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Crossing:
    """A level a reading crossed: `name` is "", "systolic" or "diastolic"."""
    name: str
    value: float
    level: float
    above: bool


@dataclass(frozen=True, slots=True)
class WeightGainRule:
    """Heart failure: weight gain of more than `kg` within `days` days."""
    kg: float = 2.0
    days: float = 3.0


@dataclass(frozen=True, slots=True)
class Preset:
    """Suggested targets for a condition, with the words and source a clinician confirms."""
    condition: str
    targets: tuple[Target, ...]
    source: str
    weight_gain: WeightGainRule | None = None
    notes: tuple[str, ...] = field(default=())


PRESETS: Mapping[str, Preset] = {
    "hypertension": Preset(
        condition="hypertension",
        targets=(Target("blood_pressure", Levels(urgent_high=180, warning_high=140,
                                                 warning_low=90),
                        Levels(urgent_high=120, warning_high=90, warning_low=60),
                        persist_count=4),),
        source="2017 ACC/AHA Guideline for High Blood Pressure in Adults (Whelton et al., "
               "Hypertension 2018;71:e13): stage 2 ≥ 140/90 mmHg; hypertensive crisis "
               "> 180 and/or > 120 mmHg (CareLoop alerts from 180 or 120 on).",
        notes=("Low levels (< 90/60 mmHg) are the common definition of hypotension, not "
               "part of the guideline's stages.",
               "The guideline judges averaged home readings over days: a warning needs 4 "
               "readings in a row (two days of morning and evening readings).")),
    "heart_failure": Preset(
        condition="heart_failure",
        targets=(Target("resting_heart_rate", Levels(warning_low=50, warning_high=100,
                                                     urgent_low=40, urgent_high=130),
                        persist_count=2),),
        weight_gain=WeightGainRule(kg=2.0, days=3.0),
        source="ESC Heart Failure Association patient guidance (heartfailurematters.org, "
               "'Self-care: weight monitoring'): contact your care team if you gain more "
               "than 2 kg in 3 days.",
        notes=("Resting heart rate levels are CareLoop's suggestion for the clinician to "
               "adjust, not from the guidance.",)),
    "diabetes": Preset(
        condition="diabetes",
        targets=(Target("glucose", Levels(urgent_low=3.0, warning_low=3.9,
                                          warning_high=13.9),
                        persist_count=3, persist_minutes=15),),
        source="ADA Standards of Care in Diabetes, section 6 (Glycemic Goals and "
               "Hypoglycemia): level 1 < 3.9 mmol/L (70 mg/dL), level 2 < 3.0 mmol/L "
               "(54 mg/dL); International Consensus on Time in Range (Battelino et al., "
               "Diabetes Care 2019;42:1593): level 2 high > 13.9 mmol/L (250 mg/dL), a "
               "CGM event lasts ≥ 15 minutes.",
        notes=("No urgent high level is suggested: the clinician sets one if wanted.",)),
    "copd": Preset(
        condition="copd",
        targets=(Target("spo2", Levels(warning_low=88, urgent_low=85), persist_count=2,
                        persist_minutes=30),),
        source="BTS Guideline for oxygen use in adults in healthcare and emergency settings "
               "(O'Driscoll et al., Thorax 2017;72:i1): target saturation 88–92 % for "
               "patients at risk of hypercapnic respiratory failure.",
        notes=("The urgent level (< 85 %) is CareLoop's suggestion for the clinician to "
               "adjust; above 92 % matters only on supplemental oxygen.",)),
}

# A team default where neither patient nor team set one: wide adult ranges, so that only
# what a nurse would call abnormal for anyone alerts.
DEFAULTS: Mapping[str, Target] = {
    t.measure: t for t in (
        Target("blood_pressure", Levels(urgent_high=180, warning_high=160, warning_low=90),
               Levels(urgent_high=120, warning_high=100, warning_low=50), persist_count=2),
        Target("pulse", Levels(urgent_low=35, warning_low=40, warning_high=130,
                                    urgent_high=160), persist_minutes=10, persist_count=3),
        Target("resting_heart_rate", Levels(urgent_low=35, warning_low=45, warning_high=110,
                                            urgent_high=140)),
        Target("glucose", Levels(urgent_low=3.0, warning_low=3.9, warning_high=13.9),
               persist_count=3, persist_minutes=15),
        Target("spo2", Levels(urgent_low=85, warning_low=92), persist_count=2),
        Target("temperature", Levels(urgent_low=35.0, warning_high=38.0, urgent_high=40.0)),
        Target("respiratory_rate", Levels(warning_low=10, warning_high=24, urgent_low=8,
                                          urgent_high=30)),
    )
}


def targets_for(*, patient: Mapping[str, Target], team: Mapping[str, Target] | None = None
                ) -> dict[str, Target]:
    """The targets in force: the patient's, else the team's, else the defaults."""
    merged = dict(DEFAULTS)
    merged.update(team or {})
    merged.update(patient)
    return merged
