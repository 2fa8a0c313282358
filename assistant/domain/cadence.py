"""Missing data: a care plan that expects a daily weight (or blood pressure twice a day)
notices when none came for the set time. The service first nudges the patient in chat,
then alerts the team (issue 11); this module only says what is missing since when.

Heart-failure self-care asks for a daily weight (ESC HFA patient guidance); home blood
pressure monitoring asks for morning and evening readings (ACC/AHA 2017, section 4.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.domain.findings import Finding, FindingKind, Reading, Severity


@dataclass(frozen=True, slots=True)
class Cadence:
    """A measure expected every `every`; missing once `grace` more has passed."""
    measure: str
    every: timedelta
    grace: timedelta

    @property
    def allowed_gap(self) -> timedelta:
        return self.every + self.grace


# A day or two off happens (10 % of days in telemonitoring studies); the grace is the "set
# time" after which it is worth a word.
DAILY_WEIGHT = Cadence("weight", every=timedelta(days=1), grace=timedelta(days=2))
TWICE_DAILY_BP = Cadence("blood_pressure", every=timedelta(hours=12),
                         grace=timedelta(hours=36))
DAILY_RESTING_HR = Cadence("resting_heart_rate", every=timedelta(days=1),
                           grace=timedelta(days=1))
CGM = Cadence("glucose", every=timedelta(minutes=5), grace=timedelta(hours=3))


def missing(readings: Iterable[Reading], *, cadences: Iterable[Cadence], now: datetime,
            expected_from: datetime) -> list[Finding]:
    """A finding per expected measure whose last reading (or the start of the plan, when
    none came) is older than its allowed gap at `now`. `evidence_at` is the last reading's
    effective time (the start of the plan when there is none): a nurse sees since when."""
    last: dict[str, datetime] = {}
    for reading in readings:
        known = last.get(reading.measure)
        if reading.at <= now and (known is None or reading.at > known):
            last[reading.measure] = reading.at
    found = []
    for cadence in cadences:
        since = last.get(cadence.measure, expected_from)
        gap = now - since
        if gap > cadence.allowed_gap:
            found.append(Finding(
                FindingKind.missing_data, Severity.warning, cadence.measure, None, "",
                since, at=now, facts={"rule": "missing", "hours": _hours(gap),
                                      "every_hours": _hours(cadence.every)}))
    return found


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600
