"""Dose schedules as a prescription says them: the `Timing`, reading what people type
(times of day, days of the week), and the limits every schedule is held to.

Pure domain logic: no database, no I/O. A `Timing` follows FHIR `Timing.repeat`
(timeOfDay, dayOfWeek, period in days, boundsPeriod, count) with wall-clock times
in the patient's IANA zone; `dues.expand` turns it into aware UTC instants.

The rule for wall times that DST makes odd: a dose is due at the first instant whose
local wall clock reads the scheduled time or later. So

* a time that does not exist (spring forward, 02:30 in Berlin on 2027-03-28) is due
  when the gap ends (03:00 local);
* an ambiguous time (fall back, 02:30 in Berlin on 2027-10-31) is due once, at its
  first occurrence;
* a whole local date that does not exist (Pacific/Apia skipped 2011-12-30) has no
  doses at all.

`count` counts scheduled slots (local day x time of day) from `start_date`, so the
Nth dose is the same whatever window is asked for. Two slots that fall at the same
instant (02:15 and 02:45 inside one gap) give one reminder.

Every way a schedule comes in (API, console, FHIR import, CLI) goes through `validate`,
so one set of limits holds for all: at most `MAX_TIMES_PER_DAY` reminders a day, every
`MAX_EVERY_N_DAYS` days at most, courses of `MAX_COUNT` doses at most, dates from
`FIRST_DATE` to `LAST_DATE`.

Time zones are in `zones`; turning a timing into due instants is `dues.expand`.

Errors: `InvalidSchedule` (assistant.errors), for anything a care team can type wrong;
its reason says what is wrong and what to do instead, and `field` names the part of the
schedule at fault (`times`, `days`, `every_n_days`, `start_date`, `end_date`, `count`;
`timezone` for the zone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from math import gcd

from assistant.domain.days import DAY_CODES, DAY_NAMES
from assistant.domain.zones import zone
from assistant.errors import InvalidSchedule

# The limits of a schedule, whichever way it comes in. More reminders a day than this
# are no longer reminders a patient can answer; the dates keep every instant planning
# computes (a day either side, in any zone) inside what a datetime can hold.
MAX_TIMES_PER_DAY = 12
MAX_EVERY_N_DAYS = 365
MAX_COUNT = 10_000
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)

_DAY_WORDS = {
    **{code: number for number, code in enumerate(DAY_CODES)},
    **{name.lower(): number for number, name in enumerate(DAY_NAMES)},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
_DAY_GROUPS = {
    "weekdays": frozenset(range(5)), "weekday": frozenset(range(5)),
    "weekends": frozenset({5, 6}), "weekend": frozenset({5, 6}),
}
_EVERY_DAY = {"daily", "every day", "everyday", "all"}
_DAYS_HINT = "use mon, tue, wed, thu, fri, sat, sun (e.g. mon,wed,fri), weekdays, weekends or daily"

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)


@dataclass(frozen=True, kw_only=True, slots=True)
class Timing:
    """When a medication is taken, in the patient's local wall-clock time.

    `times_of_day` is kept sorted and without repeats whatever order it is given in.
    """

    times_of_day: tuple[time, ...]  # empty only when as_needed
    days_of_week: frozenset[int] | None = None  # 0 = Monday .. 6 = Sunday; None = every day
    every_n_days: int = 1  # counted in local days from start_date
    start_date: date  # first local day, inclusive
    end_date: date | None = None  # last local day, inclusive
    count: int | None = None  # total doses (slots) from start_date
    as_needed: bool = False  # PRN: no reminders at all

    def __post_init__(self) -> None:
        # expand relies on sorted, unique times; keep callers from having to know.
        ordered = sorted(set(self.times_of_day), key=lambda at: at.replace(tzinfo=None))
        object.__setattr__(self, "times_of_day", tuple(ordered))
        if self.days_of_week is not None and not isinstance(self.days_of_week, frozenset):
            object.__setattr__(self, "days_of_week", frozenset(self.days_of_week))


# --- parsing what people type ---------------------------------------------------------


def parse_times(values: Iterable[str]) -> tuple[time, ...]:
    """'08:00', '8:00', '20:30' -> sorted, unique times.

    A single string is read as a comma-separated list ("08:00,20:00").
    """
    if isinstance(values, str):
        values = values.split(",")
    return tuple(sorted({_parse_time(value) for value in values}))


@lru_cache(maxsize=4096)
def _parse_time(value: str) -> time:
    # Cached: the planner re-reads the same few strings for every stored schedule.
    match = _TIME.fullmatch(value.strip())
    if match is None:
        raise InvalidSchedule(
            f"{value!r} is not a time of day: use 24-hour HH:MM, e.g. 08:00 or 20:30",
            field="times")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise InvalidSchedule(
            f"{value!r} is not a time of day: hours run 00-23 and minutes 00-59, "
            "e.g. 08:00 or 20:30", field="times")
    return time(hour, minute)


def parse_days(value: str | None) -> frozenset[int] | None:
    """'mon,wed,fri', 'Monday', 'mon-fri', 'weekdays', 'weekends' -> weekday numbers.

    'daily', 'every day' or None mean every day and give None.
    """
    if value is None:
        return None
    text = value.strip().lower()
    if text in _EVERY_DAY:
        return None
    days: set[int] = set()
    for part in re.split(r"[\s,;]+", text):
        if not part:
            continue
        if part in _DAY_GROUPS:
            days |= _DAY_GROUPS[part]
        elif part in _DAY_WORDS:
            days.add(_DAY_WORDS[part])
        elif "-" in part:
            days |= _day_range(part)
        else:
            raise InvalidSchedule(f"{part!r} is not a day of the week: {_DAYS_HINT}",
                                field="days")
    if not days:
        raise InvalidSchedule(f"no days given: {_DAYS_HINT}", field="days")
    return frozenset(days)


def _day_range(part: str) -> set[int]:
    """'mon-fri' -> {0..4}; 'fri-mon' wraps over the weekend."""
    first, _, last = part.partition("-")
    if first not in _DAY_WORDS or last not in _DAY_WORDS:
        raise InvalidSchedule(f"{part!r} is not a range of days: write it like mon-fri",
                            field="days")
    begin, finish = _DAY_WORDS[first], _DAY_WORDS[last]
    return {(begin + step) % 7 for step in range((finish - begin) % 7 + 1)}


def validate(timing: Timing, tz_name: str) -> None:
    """Refuse a schedule that cannot work or is beyond the limits, saying what to change."""
    zone(tz_name)
    if timing.every_n_days < 1:
        raise InvalidSchedule(
            f"every {timing.every_n_days} days cannot be: give 1 (every day) or more",
            field="every_n_days")
    if timing.every_n_days > MAX_EVERY_N_DAYS:
        raise InvalidSchedule(
            f"every {timing.every_n_days} days is too far apart: give at most "
            f"{MAX_EVERY_N_DAYS}", field="every_n_days")
    if timing.count is not None and timing.count < 1:
        raise InvalidSchedule(
            f"a course of {timing.count} doses cannot be: give 1 or more, "
            "or no count for an open-ended course", field="count")
    if timing.count is not None and timing.count > MAX_COUNT:
        raise InvalidSchedule(
            f"a course of {timing.count} doses is too long: give at most {MAX_COUNT}, "
            "or no count for an open-ended course", field="count")
    for what, day in (("start", timing.start_date), ("end", timing.end_date)):
        if day is not None and not FIRST_DATE <= day <= LAST_DATE:
            raise InvalidSchedule(
                f"{what} date {day} is out of range: give a date from {FIRST_DATE} "
                f"to {LAST_DATE}", field=f"{what}_date")
    if timing.end_date is not None and timing.end_date < timing.start_date:
        raise InvalidSchedule(
            f"end date {timing.end_date} is before start date {timing.start_date}: "
            "put the end on or after the start", field="end_date")
    if timing.days_of_week is not None:
        if not timing.days_of_week:
            raise InvalidSchedule(f"no days of the week chosen: {_DAYS_HINT}", field="days")
        wrong = sorted(day for day in timing.days_of_week if day not in range(7))
        if wrong:
            raise InvalidSchedule(
                f"day number(s) {wrong} do not exist: days run 0 (Monday) to 6 (Sunday)",
                field="days")
    if any(at.tzinfo is not None for at in timing.times_of_day):
        raise InvalidSchedule(
            "times of day are the patient's wall-clock times: give them without a time zone",
            field="times")
    if timing.as_needed:
        if timing.times_of_day:
            raise InvalidSchedule(
                "an as-needed (PRN) medication gets no reminders: drop the times of day, "
                "or make it a regular schedule", field="times")
        return
    if not timing.times_of_day:
        raise InvalidSchedule(
            "no time of day given: add at least one, e.g. 08:00, or mark it as needed",
            field="times")
    if len(timing.times_of_day) > MAX_TIMES_PER_DAY:
        raise InvalidSchedule(
            f"{len(timing.times_of_day)} times a day is too many reminders: give at most "
            f"{MAX_TIMES_PER_DAY}, or mark it as needed", field="times")
    if days_before(timing, _last_ordinal(timing) + 1) == 0:
        raise InvalidSchedule(_never_message(timing), field="days")


def _never_message(timing: Timing) -> str:
    chosen = ",".join(DAY_CODES[day] for day in sorted(timing.days_of_week or ()))
    start = f"{DAY_CODES[timing.start_date.weekday()]} {timing.start_date}"
    if timing.end_date is None:
        return (f"every {timing.every_n_days} days from {start} never falls on {chosen}: "
                "change the days, the interval or the start date")
    return (f"no dose falls between {start} and {timing.end_date} on {chosen}: "
            "change the days, the interval or the dates")


def _last_ordinal(timing: Timing) -> int:
    """The last local day (ordinal) that could hold a dose, ignoring count."""
    if timing.end_date is not None:
        return timing.end_date.toordinal()
    # Far enough for any weekday pattern to repeat; validate only asks "ever?".
    return timing.start_date.toordinal() + 7 * timing.every_n_days


def days_before(timing: Timing, ordinal: int) -> int:
    """How many scheduled local days fall from start_date up to (not including)
    `ordinal`, without walking the days: the weekday pattern repeats every
    7 / gcd(every_n_days, 7) candidate days."""
    first = timing.start_date.toordinal()
    if timing.end_date is not None:
        ordinal = min(ordinal, timing.end_date.toordinal() + 1)
    if ordinal <= first:
        return 0
    step = timing.every_n_days
    candidates = (ordinal - first + step - 1) // step  # days first, first+step, ...
    days = timing.days_of_week
    if days is None:
        return candidates
    weekday = timing.start_date.weekday()
    cycle = 7 // gcd(step, 7)
    hits = [(weekday + k * step) % 7 in days for k in range(cycle)]
    full, rest = divmod(candidates, cycle)
    return full * sum(hits) + sum(hits[:rest])


