"""The targets form of the patient page: the rows it shows (each measure's target in force,
where it comes from, a preset's suggestion when the clinician chose one to look at) and the
targets a posted form means.

A row is saved as the patient's own when its "own" box is ticked or its values were
changed; otherwise the measure follows the team default. A preset's suggestion left as
suggested is saved by naming the preset (so its rules and persistence come with it, and the
audit says who confirmed which preset); a suggestion the clinician changed is saved as
changed. Nothing is saved until the form is posted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.domain.measures import MEASURES
from assistant.domain.targets import PRESETS, Levels, Target
from assistant.errors import InvalidInput
from assistant.services import targets
from assistant.storage.models import MeasureTarget

LEVEL_LABELS = {"urgent_low": "urgent low", "warning_low": "warning low",
                "warning_high": "warning high", "urgent_high": "urgent high"}
SOURCES = {"patient": "patient's own", "team": "team default", "default": "CareLoop default"}
SHOWN = tuple(MEASURES)
_WHERE = re.compile(r"targets\[(\d+)\]\.(value2?)\.(\w+)")


@dataclass
class Row:
    measure: str
    unit: str
    source: str
    own: bool
    suggested: bool = False
    values: dict[str, str] = field(default_factory=dict)    # field name -> text shown
    errors: dict[str, str] = field(default_factory=dict)    # field name -> message

    def fields(self, second: bool) -> list[tuple[str, str]]:
        """(field name, label) of the first value, or (blood pressure) the diastolic."""
        suffix = "2" if second else ""
        return [(f"{self.measure}.{n}{suffix}", label) for n, label in LEVEL_LABELS.items()]


class FormError(InvalidInput):
    """A posted targets form that cannot be saved; `rows` keep what was typed."""
    def __init__(self, message: str, rows: list[Row]) -> None:
        super().__init__(message)
        self.rows = rows


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _fill(row: Row, target: Target | None) -> None:
    for second, levels in ((False, target.value if target else None),
                           (True, target.value2 if target else None)):
        for (name, _), level in zip(row.fields(second), LEVEL_LABELS, strict=True):
            row.values[name] = _text(getattr(levels, level) if levels else None)


def rows(in_force: list[tuple[str, Target, str]], *, preset: str | None = None) -> list[Row]:
    """The form's rows: what is in force, or a preset's suggestion where it has one."""
    found = {m: (t, s) for m, t, s in in_force}
    suggested = {t.measure: t for t in PRESETS[preset].targets} if preset else {}
    shown = []
    for measure in SHOWN:
        target, source = found.get(measure, (None, "default"))
        row = Row(measure, MEASURES[measure].label, SOURCES[source], own=source == "patient")
        if measure in suggested:
            target, row.suggested, row.own = suggested[measure], True, True
        _fill(row, target)
        shown.append(row)
    return shown


def _number(text: str, name: str, row: Row) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        row.errors[name] = f"“{text}” is not a number"
        return None
    return value


def _levels(row: Row, second: bool) -> Levels:
    return Levels(**{level: _number(row.values[name], name, row)
                     for (name, _), level in zip(row.fields(second), LEVEL_LABELS, strict=True)})


def parse(form: Mapping[str, str], in_force: list[tuple[str, Target, str]],
          own_rows: list[MeasureTarget]) -> tuple[list[targets.TargetIn], str | None, list[Row]]:
    """The targets a posted form means, the preset it confirms, and its rows as typed;
    FormError naming the field when a value is not a number or the preset is unknown."""
    preset = form.get("preset") or None
    if preset is not None and preset not in PRESETS:
        raise FormError(f"preset: unknown preset {preset!r}", rows(in_force))
    shown = rows(in_force, preset=preset)
    found = {m: t for m, t, _ in in_force}
    own = {r.measure: r for r in own_rows}
    suggested = {t.measure: t for t in PRESETS[preset].targets} if preset else {}
    items: list[targets.TargetIn] = []
    for row in shown:
        before = dict(row.values)
        row.values = {name: str(form.get(name, ""))[:32] for name in before}
        row.own = form.get(f"{row.measure}.own") == "1"
        value, value2 = _levels(row, False), _levels(row, True)
        changed = row.values != before
        if row.measure in suggested and not changed:
            continue                     # saved by naming the preset
        if not (row.own or changed):
            continue                     # follows the team default
        base = suggested.get(row.measure) or found.get(row.measure)
        kept = own.get(row.measure)
        items.append(targets.TargetIn(
            row.measure, value, value2 if row.measure == "blood_pressure" else None,
            persist_count=base.persist_count if base else 2,
            persist_minutes=base.persist_minutes if base else None,
            expect_every_hours=kept.expect_every_hours if kept else None,
            preset=preset if row.measure in suggested else (kept.preset if kept else None)))
    if any(row.errors for row in shown):
        raise FormError("some values are not numbers", shown)
    return items, preset, shown


def place_error(message: str, items: list[targets.TargetIn], shown: list[Row]) -> bool:
    """Put the service's refusal ("targets[2].value.warning_high: ...") at its field."""
    found = _WHERE.search(message)
    if not found or int(found.group(1)) >= len(items):
        return False
    measure = items[int(found.group(1))].measure
    suffix = "2" if found.group(2) == "value2" else ""
    for row in shown:
        if row.measure == measure:
            row.errors[f"{measure}.{found.group(3)}{suffix}"] = message.split(": ", 1)[-1]
            return True
    return False
