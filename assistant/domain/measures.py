"""What CareLoop measures: each measure's LOINC codes, its canonical unit, the UCUM units a
code may come in (converted to the canonical one) and the values people can have.

A reading is stored in its measure's canonical unit, under the LOINC code it came with.
`unit` on a reading is the label the console and the API have always shown (mmHg, bpm,
°C...); `ucum` is the same unit as UCUM writes it. Heart rate keeps its old name `pulse`
(chat, the API's `kind`, teams' thresholds use it); LOINC 8867-4 is its code.

Pure: no database. A value that cannot be used raises `Refused` with a reason a device
integrator can act on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from assistant.domain.parsing import MG_DL_PER_MMOL_L, PLAUSIBLE
from assistant.errors import InvalidInput

__all__ = ["BP_PANEL", "CODES", "DIASTOLIC", "MEASURES", "SYSTOLIC", "Measure", "Refused",
           "blood_pressure", "code_for",
           "canonical", "check_range", "measure_of"]

BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"
LB_PER_KG = 2.20462262185


class Refused(InvalidInput):
    """An observation CareLoop cannot store; the message says why."""


@dataclass(frozen=True)
class Measure:
    name: str
    label: str                  # the unit shown (and stored in `Reading.unit`)
    ucum: str                   # the canonical unit in UCUM
    codes: tuple[str, ...]      # LOINC; the first is used for chat and console readings
    low: float                  # plausible range, in the canonical unit
    high: float

    @property
    def code(self) -> str:
        return self.codes[0]


def _p(name: str) -> tuple[float, float]:
    return PLAUSIBLE[name]


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("blood_pressure", "mmHg", "mm[Hg]", (BP_PANEL,), *_p("systolic")),
    Measure("pulse", "bpm", "/min", ("8867-4",), *_p("pulse")),
    Measure("resting_heart_rate", "bpm", "/min", ("40443-4",), 25, 200),
    Measure("weight", "kg", "kg", ("29463-7",), *_p("weight")),
    Measure("glucose", "mmol/L", "mmol/L", ("15074-8", "2339-0"), *_p("glucose")),
    Measure("spo2", "%", "%", ("59408-5", "2708-6"), 50, 100),
    Measure("temperature", "°C", "Cel", ("8310-5",), *_p("temperature")),
    Measure("respiratory_rate", "/min", "/min", ("9279-1",), 4, 60),
    Measure("steps", "steps", "{steps}", ("55423-8", "41950-7"), 0, 200_000),
)}
CODES: dict[str, Measure] = {code: m for m in MEASURES.values() for code in m.codes}

Convert = Callable[[float], float]


def _same(value: float) -> float:
    return value


def _f_to_c(value: float) -> float:
    return (value - 32) * 5 / 9


# Per LOINC code: the UCUM units it may come in, and how each becomes the canonical unit.
_PER_MIN: dict[str, Convert] = {"/min": _same, "{beats}/min": _same}
_UNITS: dict[str, dict[str, Convert]] = {
    BP_PANEL: {"mm[Hg]": _same},
    SYSTOLIC: {"mm[Hg]": _same},
    DIASTOLIC: {"mm[Hg]": _same},
    "8867-4": _PER_MIN,
    "40443-4": _PER_MIN,
    "29463-7": {"kg": _same, "g": lambda v: v / 1000, "[lb_av]": lambda v: v / LB_PER_KG},
    "15074-8": {"mmol/L": _same},
    "2339-0": {"mg/dL": lambda v: v / MG_DL_PER_MMOL_L},
    "59408-5": {"%": _same},
    "2708-6": {"%": _same},
    "8310-5": {"Cel": _same, "[degF]": _f_to_c},
    "9279-1": {"/min": _same, "{breaths}/min": _same},
    "55423-8": {"{steps}": _same, "/d": _same, "{steps}/d": _same},
    "41950-7": {"{steps}": _same, "/d": _same, "{steps}/d": _same},
}
_HINT = {"2339-0": " (glucose in mmol/L is LOINC 15074-8)",
         "15074-8": " (glucose in mg/dL is LOINC 2339-0)"}


def measure_of(code: str) -> Measure:
    """The measure of a LOINC code; `Refused` for a code CareLoop does not keep."""
    if code in (SYSTOLIC, DIASTOLIC):
        raise Refused(f"code: {code} alone is half a blood pressure: send the panel "
                      f"{BP_PANEL} with components {SYSTOLIC} and {DIASTOLIC}")
    try:
        return CODES[code]
    except KeyError:
        raise Refused(f"code: LOINC {code} is not a measure CareLoop keeps; one of "
                      f"{', '.join(sorted(CODES))}") from None


def canonical(code: str, value: float, unit: str) -> float:
    """`value` in `unit` (UCUM) as the canonical unit of the code's measure; `Refused`
    when the unit does not belong to the code."""
    allowed = _UNITS.get(code)
    if allowed is None:
        measure_of(code)  # says why the code is refused
        raise Refused(f"code: LOINC {code} has no units CareLoop knows")
    if unit not in allowed:
        raise Refused(f"unit: {unit or '(none)'} is not a unit of LOINC {code}; one of "
                      f"{', '.join(allowed)}{_HINT.get(code, '')}")
    if not math.isfinite(value):
        raise Refused("value: not a finite number")
    return allowed[unit](value)


def check_range(measure: Measure, value: float, *, what: str | None = None,
                low: float | None = None, high: float | None = None) -> float:
    """`value` (canonical unit) when people can have it; `Refused` otherwise."""
    low = measure.low if low is None else low
    high = measure.high if high is None else high
    if not low <= value <= high:
        raise Refused(f"value: {value:g} {measure.label} is not a plausible "
                      f"{what or measure.name} ({low:g} to {high:g} {measure.label})")
    return value


def blood_pressure(systolic: float, diastolic: float) -> tuple[float, float]:
    """Both values checked: plausible, and the diastolic below the systolic."""
    bp = MEASURES["blood_pressure"]
    check_range(bp, systolic, what="systolic")
    check_range(bp, diastolic, what="diastolic", low=PLAUSIBLE["diastolic"][0],
                high=PLAUSIBLE["diastolic"][1])
    if diastolic >= systolic:
        raise Refused("value2: the diastolic value must be lower than the systolic")
    return systolic, diastolic


ALIASES = {"heart_rate": "pulse"}  # the name the monitoring issue uses for `pulse`


def code_for(name: str, unit: str) -> str:
    """The LOINC code for a measure named in a file (or a code itself), choosing among a
    measure's codes the one `unit` belongs to (glucose in mg/dL is 2339-0)."""
    if name in CODES or name in (SYSTOLIC, DIASTOLIC):
        return name
    measure = MEASURES.get(ALIASES.get(name, name))
    if measure is None:
        raise Refused(f"measure: {name or '(none)'} is not a measure CareLoop keeps; one of "
                      f"{', '.join(MEASURES)} (or a LOINC code)")
    return next((code for code in measure.codes if unit in _UNITS[code]), measure.code)
