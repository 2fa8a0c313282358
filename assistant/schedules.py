"""Dose schedules as a prescription says them, and the instants they fall due.

Pure domain logic, no database. A `Timing` follows FHIR `Timing.repeat` (timeOfDay,
dayOfWeek, frequency/period in days, boundsPeriod, count) with wall-clock times in
the patient's IANA zone. DST: a wall time that does not exist (spring forward) is due
at the first valid moment after it, the end of the gap; an ambiguous one (fall back)
is due once, at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_GROUPS = {"weekdays": frozenset(range(5)), "weekends": frozenset({5, 6})}
_EVERY_DAY = {"daily", "every day", "everyday", "all", ""}


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Timing:
    times_of_day: tuple[time, ...]
    start_date: date
    days_of_week: frozenset[int] | None = None  # 0 = Monday; None = every day
    every_n_days: int = 1                       # counted from start_date
    end_date: date | None = None                # inclusive
    count: int | None = None                    # total doses from the start
    as_needed: bool = False                     # no reminders at all


def zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {tz_name!r}: use an IANA name such as Europe/Berlin") from None


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_times(values: Iterable[str]) -> tuple[time, ...]:
    """'08:00', '8:00', '20:30' → sorted, unique times."""
    found = set()
    for value in values:
        match = _TIME.match(value.strip())
        if not match:
            raise ScheduleError(f"time {value!r} is not a time of day: use HH:MM, e.g. 08:00")
        found.add(time(int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


def parse_days(value: str | None) -> frozenset[int] | None:
    """'mon,wed,fri', 'weekdays', 'daily' (or None: every day) → weekday numbers."""
    if value is None or value.strip().lower() in _EVERY_DAY:
        return None
    days: set[int] = set()
    for part in value.lower().replace(" ", ",").split(","):
        if not part:
            continue
        if part in _GROUPS:
            days |= _GROUPS[part]
        elif part[:3] in DAY_NAMES and (part in DAY_NAMES or part in _FULL_NAMES):
            days.add(DAY_NAMES.index(part[:3]))
        else:
            raise ScheduleError(f"day {part!r} is not a day of the week: use mon,tue,...,sun")
    if not days:
        raise ScheduleError("no days given: name at least one day, e.g. mon,wed,fri")
    return frozenset(days)


def validate(timing: Timing, tz_name: str) -> None:
    zone(tz_name)
    if timing.as_needed:
        if timing.times_of_day:
            raise ScheduleError("an as-needed medication has no reminder times: drop --at")
        return
    if not timing.times_of_day:
        raise ScheduleError("no time of day: give at least one, e.g. --at 08:00")
    if timing.days_of_week is not None and not timing.days_of_week:
        raise ScheduleError("no days given: name at least one day, e.g. mon,wed,fri")
    if timing.every_n_days < 1:
        raise ScheduleError("every N days needs N of 1 or more")
    if timing.count is not None and timing.count < 1:
        raise ScheduleError("the number of doses must be 1 or more")
    if timing.end_date is not None and timing.end_date < timing.start_date:
        raise ScheduleError(
            f"end date {timing.end_date} is before start date {timing.start_date}")


def _exists(naive: datetime, tz: ZoneInfo) -> bool:
    there = naive.replace(tzinfo=tz)
    return there.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def to_utc(local_day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time `at` on `local_day` in `tz` (DST rules above)."""
    naive = datetime.combine(local_day, at)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # exists; fold=0 is the first of two when ambiguous
    # In a gap: the offsets before and after bracket the transition; find the first
    # wall minute after `naive` that exists, which is where the gap ends.
    step = timedelta(minutes=1)
    probe = naive + step
    for _ in range(48 * 60):  # no gap is longer than a day (Pacific/Apia lost one)
        if _exists(probe, tz):
            return probe.replace(tzinfo=tz, fold=0).astimezone(UTC)
        probe += step
    raise ScheduleError(f"{naive} does not exist in {tz.key}")  # pragma: no cover


def _day_matches(timing: Timing, day: date) -> bool:
    if day < timing.start_date or (timing.end_date is not None and day > timing.end_date):
        return False
    if timing.days_of_week is not None and day.weekday() not in timing.days_of_week:
        return False
    return (day - timing.start_date).days % timing.every_n_days == 0


def _doses_before(timing: Timing, day: date) -> int:
    """How many doses fall on scheduled local days before `day` (for `count`)."""
    days = 0
    current = timing.start_date
    # Whole weeks at once, then day by day: cheap for any realistic count.
    if timing.every_n_days == 1:
        weeks = (day - current).days // 7
        per_week = len(timing.days_of_week) if timing.days_of_week is not None else 7
        days += weeks * per_week
        current += timedelta(weeks=weeks)
    while current < day:
        days += _day_matches(timing, current)
        current += timedelta(days=1)
    return days * len(timing.times_of_day)


def expand(timing: Timing, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every due instant (aware UTC, sorted, unique) with start <= due < end."""
    if timing.as_needed or not timing.times_of_day or end <= start:
        return []
    # Local days that can hold a due instant in the window, with a day of margin for
    # offsets and gaps.
    first_day = max(start.astimezone(tz).date() - timedelta(days=1), timing.start_date)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    if timing.end_date is not None:
        last_day = min(last_day, timing.end_date)
    index = _doses_before(timing, first_day) if timing.count is not None else 0
    found: list[datetime] = []
    day = first_day
    while day <= last_day:
        if _day_matches(timing, day):
            for at in timing.times_of_day:
                if timing.count is not None and index >= timing.count:
                    return found
                index += 1
                due = to_utc(day, at, tz)
                if start <= due < end:
                    found.append(due)
        day += timedelta(days=1)
    return sorted(set(found))


def local_label(due: datetime, tz: ZoneInfo) -> str:
    """How a patient sees a due time: 'Tue 24 Nov, 08:00'."""
    return due.astimezone(tz).strftime("%a %d %b, %H:%M")
