"""Dose rules, pure: the answers a patient gives to a dose, which medication a name they
typed means, which dose they mean, and how many doses a day a schedule gives."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from assistant.storage.models import DoseOccurrence, DoseSchedule, DoseStatus, Medication


class Action(StrEnum):
    taken = "taken"
    skip = "skip"
    snooze = "snooze"


@dataclass(frozen=True)
class Dose:
    occurrence: DoseOccurrence
    medication: Medication

    @property
    def id(self) -> int:
        return self.occurrence.id


def match_medication(name: str, candidates: Sequence[Medication]) -> list[Medication]:
    """Medications whose name matches what the patient typed, typos included."""
    wanted = name.strip().lower()
    if not wanted:
        return []
    names = {med.name.lower(): med for med in candidates}
    exact = [med for key, med in names.items() if wanted in key or key in wanted]
    if exact:
        return exact
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.7)
    return [names[key] for key in close]


def choose(doses: list[Dose], medication: str | None) -> list[Dose]:
    """The dose meant: one when it is clear, several to ask between, none if nothing fits."""
    if medication:
        meds = match_medication(medication, [d.medication for d in doses])
        doses = [d for d in doses if d.medication in meds]
    if not doses:
        return []
    first = doses[0]
    # Reminded doses beat merely planned ones; several reminded doses of different
    # medications are ambiguous.
    same_rank = [d for d in doses if (d.occurrence.status == DoseStatus.planned)
                 == (first.occurrence.status == DoseStatus.planned)]
    by_med = {d.medication.id: d for d in reversed(same_rank)}
    return [first] if len(by_med) == 1 else list(by_med.values())


def doses_per_day(row: DoseSchedule) -> float:
    """The schedule's average doses a day (0 for as-needed)."""
    if row.as_needed:
        return 0.0
    share_of_days = len(row.days_of_week) / 7 if row.days_of_week is not None else 1.0
    return len(row.times_of_day) * share_of_days / row.every_n_days
