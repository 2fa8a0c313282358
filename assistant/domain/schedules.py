"""Dose schedules as a prescription says them, and the instants they fall due.

Pure domain logic: no database, no I/O. A `Timing` follows FHIR `Timing.repeat`
(timeOfDay, dayOfWeek, period in days, boundsPeriod, count) with wall-clock times
in the patient's IANA zone; `expand` turns it into aware UTC instants.

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

Time zones: `zone` reads any name tzdata knows (old rows may hold an old alias);
`place_zone` is for a zone someone chooses now: a place's zone (as `zone_choices` lists
them) or UTC, never an old alias or a fixed offset.

Errors: `ScheduleError(ValueError)`, for anything a care team can type wrong; its
message says what is wrong and what to do instead, and `field` names the part of the
schedule at fault (`times`, `days`, `every_n_days`, `start_date`, `end_date`, `count`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from importlib.resources import files
from math import gcd
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = [
    "DAY_NAMES",
    "FIRST_DATE",
    "LAST_DATE",
    "MAX_COUNT",
    "MAX_EVERY_N_DAYS",
    "MAX_TIMES_PER_DAY",
    "ScheduleError",
    "Timing",
    "expand",
    "local_label",
    "parse_days",
    "parse_times",
    "place_zone",
    "to_utc",
    "validate",
    "zone",
    "zone_choices",
]

# The limits of a schedule, whichever way it comes in. More reminders a day than this
# are no longer reminders a patient can answer; the dates keep every instant planning
# computes (a day either side, in any zone) inside what a datetime can hold.
MAX_TIMES_PER_DAY = 12
MAX_EVERY_N_DAYS = 365
MAX_COUNT = 10_000
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_WORDS = {
    **{name: number for number, name in enumerate(DAY_NAMES)},
    **{name: number for number, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
_DAY_GROUPS = {
    "weekdays": frozenset(range(5)), "weekday": frozenset(range(5)),
    "weekends": frozenset({5, 6}), "weekend": frozenset({5, 6}),
}
_EVERY_DAY = {"daily", "every day", "everyday", "all"}
_DAYS_HINT = "use mon, tue, wed, thu, fri, sat, sun (e.g. mon,wed,fri), weekdays, weekends or daily"

# Keys tzdata ships that are not places: they would silently follow the host or nothing.
_NOT_A_PLACE = {"localtime", "posixrules", "Factory"}

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_MIDNIGHT = time(0)


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message says what to change, `field` which
    part of the schedule is at fault (None: not one part, e.g. the time zone)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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


def zone(tz_name: str) -> ZoneInfo:
    """The IANA time zone called `tz_name` (e.g. "Europe/Berlin")."""
    if tz_name not in _NOT_A_PLACE:
        try:
            return ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass  # not found, not a valid key, or a folder such as "Europe"
    hint = _zone_spelling().get(str(tz_name).strip().lower())
    if hint is not None and hint != tz_name:
        raise ScheduleError(f"unknown time zone {tz_name!r}: did you mean {hint!r}?")
    raise ScheduleError(
        f"unknown time zone {tz_name!r}: use an IANA name such as Europe/Berlin "
        "or America/New_York")


@lru_cache(maxsize=1)
def _zone_spelling() -> dict[str, str]:
    """Lower-cased zone name -> its proper spelling (only read when a name is wrong)."""
    return {name.lower(): name for name in available_timezones() - _NOT_A_PLACE}


def place_zone(tz_name: str) -> ZoneInfo:
    """The zone someone chooses now for a patient: a place's zone, or UTC.

    Old aliases ("GB", "US/Eastern", "Asia/Calcutta") and names that are no place (fixed
    offsets such as "GMT" or "Etc/GMT+1", rule names such as "EST5EDT") are refused: GMT
    for a patient in the UK is an hour off all summer. The message names the place's
    zone when tzdata knows it.
    """
    tz = zone(tz_name)
    if tz_name in _places():
        return tz
    target = _links().get(tz_name, tz_name)
    if target in _places():
        raise ScheduleError(f"{tz_name!r} is an old name: did you mean {target!r}?")
    if target == "Etc/UTC":
        raise ScheduleError(f"{tz_name!r} is an old name: did you mean 'UTC'?")
    if target == "Etc/GMT":
        raise ScheduleError(f"{tz_name!r} never changes for summer time: did you mean "
                            "'Europe/London' (UK time) or 'UTC'?")
    raise ScheduleError(
        f"{tz_name!r} is not a place's time zone: choose where the patient lives, "
        "e.g. Europe/Berlin or America/New_York (or UTC)")


def zone_choices(*, first: str | None = None) -> list[str]:
    """The zones to offer when someone picks one: every place's zone (one or more per
    country, as tzselect offers them) and UTC, sorted, with `first` (a default) first."""
    names = sorted(_places())
    if first in _places():
        names.remove(first)
        names.insert(0, first)
    return names


@lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    # zone.tab lists the zones of places by country, with their usual names (also
    # Europe/Amsterdam, a link since 2022); tzdata.zi's own zones would miss those.
    text = _tzdata_file("zone.tab")
    found = {line.split("\t")[2] for line in text.splitlines()
             if line.strip() and not line.startswith("#")}
    return frozenset({"UTC"} | (found & available_timezones()))


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    """Old name -> the zone it is a link to ("GB" -> "Europe/London")."""
    return {parts[2]: parts[1] for line in _tzdata_file("tzdata.zi").splitlines()
            if (parts := line.split()) and parts[0] == "L" and len(parts) == 3}


def _tzdata_file(name: str) -> str:
    # The tzdata package is a dependency, so its tables are there whatever the system has.
    return files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")


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
        raise ScheduleError(
            f"{value!r} is not a time of day: use 24-hour HH:MM, e.g. 08:00 or 20:30",
            field="times")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError(
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
            raise ScheduleError(f"{part!r} is not a day of the week: {_DAYS_HINT}",
                                field="days")
    if not days:
        raise ScheduleError(f"no days given: {_DAYS_HINT}", field="days")
    return frozenset(days)


def _day_range(part: str) -> set[int]:
    """'mon-fri' -> {0..4}; 'fri-mon' wraps over the weekend."""
    first, _, last = part.partition("-")
    if first not in _DAY_WORDS or last not in _DAY_WORDS:
        raise ScheduleError(f"{part!r} is not a range of days: write it like mon-fri",
                            field="days")
    begin, finish = _DAY_WORDS[first], _DAY_WORDS[last]
    return {(begin + step) % 7 for step in range((finish - begin) % 7 + 1)}


def validate(timing: Timing, tz_name: str) -> None:
    """Refuse a schedule that cannot work or is beyond the limits, saying what to change."""
    zone(tz_name)
    if timing.every_n_days < 1:
        raise ScheduleError(
            f"every {timing.every_n_days} days cannot be: give 1 (every day) or more",
            field="every_n_days")
    if timing.every_n_days > MAX_EVERY_N_DAYS:
        raise ScheduleError(
            f"every {timing.every_n_days} days is too far apart: give at most "
            f"{MAX_EVERY_N_DAYS}", field="every_n_days")
    if timing.count is not None and timing.count < 1:
        raise ScheduleError(
            f"a course of {timing.count} doses cannot be: give 1 or more, "
            "or no count for an open-ended course", field="count")
    if timing.count is not None and timing.count > MAX_COUNT:
        raise ScheduleError(
            f"a course of {timing.count} doses is too long: give at most {MAX_COUNT}, "
            "or no count for an open-ended course", field="count")
    for what, day in (("start", timing.start_date), ("end", timing.end_date)):
        if day is not None and not FIRST_DATE <= day <= LAST_DATE:
            raise ScheduleError(
                f"{what} date {day} is out of range: give a date from {FIRST_DATE} "
                f"to {LAST_DATE}", field=f"{what}_date")
    if timing.end_date is not None and timing.end_date < timing.start_date:
        raise ScheduleError(
            f"end date {timing.end_date} is before start date {timing.start_date}: "
            "put the end on or after the start", field="end_date")
    if timing.days_of_week is not None:
        if not timing.days_of_week:
            raise ScheduleError(f"no days of the week chosen: {_DAYS_HINT}", field="days")
        wrong = sorted(day for day in timing.days_of_week if day not in range(7))
        if wrong:
            raise ScheduleError(
                f"day number(s) {wrong} do not exist: days run 0 (Monday) to 6 (Sunday)",
                field="days")
    if any(at.tzinfo is not None for at in timing.times_of_day):
        raise ScheduleError(
            "times of day are the patient's wall-clock times: give them without a time zone",
            field="times")
    if timing.as_needed:
        if timing.times_of_day:
            raise ScheduleError(
                "an as-needed (PRN) medication gets no reminders: drop the times of day, "
                "or make it a regular schedule", field="times")
        return
    if not timing.times_of_day:
        raise ScheduleError(
            "no time of day given: add at least one, e.g. 08:00, or mark it as needed",
            field="times")
    if len(timing.times_of_day) > MAX_TIMES_PER_DAY:
        raise ScheduleError(
            f"{len(timing.times_of_day)} times a day is too many reminders: give at most "
            f"{MAX_TIMES_PER_DAY}, or mark it as needed", field="times")
    if _days_before(timing, _last_ordinal(timing) + 1) == 0:
        raise ScheduleError(_never_message(timing), field="days")


def _never_message(timing: Timing) -> str:
    chosen = ",".join(DAY_NAMES[day] for day in sorted(timing.days_of_week or ()))
    start = f"{DAY_NAMES[timing.start_date.weekday()]} {timing.start_date}"
    if timing.end_date is None:
        return (f"every {timing.every_n_days} days from {start} never falls on {chosen}: "
                "change the days, the interval or the start date")
    return (f"no dose falls between {start} and {timing.end_date} on {chosen}: "
            "change the days, the interval or the dates")


# --- turning a timing into instants ---------------------------------------------------


def to_utc(local_day: date, at: time, tz: ZoneInfo) -> datetime:
    """The aware UTC instant a dose at wall time `at` on `local_day` in `tz` is due.

    That is the first instant whose wall clock reads `at` on that day or later: the
    first occurrence of an ambiguous time, the end of the gap for a skipped one.
    """
    wall = datetime.combine(local_day, at.replace(tzinfo=None, fold=0))
    due = wall.replace(tzinfo=tz).astimezone(UTC)
    if due.astimezone(tz).replace(tzinfo=None) == wall:
        return due  # exists; fold=0 is the first of two when ambiguous
    return _gap_end(wall, tz)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant the DST gap holding the non-existent `wall` ends."""
    # PEP 495: inside a gap, fold=0 reads `wall` with the offset before the transition
    # and fold=1 with the one after, which puts the two instants on either side of it.
    # The transition is then the first whole second whose wall clock reaches `wall`
    # (tzdata transitions fall on whole seconds).
    one = int(wall.replace(tzinfo=tz, fold=0).timestamp())
    other = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    before, after = min(one, other), max(one, other)

    def reached(stamp: int) -> bool:
        return datetime.fromtimestamp(stamp, tz).replace(tzinfo=None) >= wall

    if reached(before) or not reached(after):  # pragma: no cover - not a plain gap
        raise ValueError(f"{wall} in {tz.key} is neither a wall time nor inside one gap")
    while after - before > 1:
        middle = (before + after) // 2
        if reached(middle):
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


@lru_cache(maxsize=16384)
def _dues_on(tz: ZoneInfo, ordinal: int, times: tuple[time, ...]) -> tuple[datetime, ...]:
    """The due instants of `times` on local day `ordinal`, or () if that date never
    happens in `tz`.

    Cached because thousands of patients share a zone and their dose times; for a day
    window this is nearly all the work `expand` does.
    """
    day = date.fromordinal(ordinal)
    dues = tuple(to_utc(day, at, tz) for at in times)
    for at, due in zip(times, dues, strict=True):
        if due.astimezone(tz).time() != at and not _date_exists(day, tz):
            return ()
    return dues


def _date_exists(day: date, tz: ZoneInfo) -> bool:
    # If local midnight is skipped and the gap only ends on a later date, no instant
    # ever has `day` as its local date (Pacific/Apia, 2011-12-30).
    return to_utc(day, _MIDNIGHT, tz).astimezone(tz).date() == day


def _last_ordinal(timing: Timing) -> int:
    """The last local day (ordinal) that could hold a dose, ignoring count."""
    if timing.end_date is not None:
        return timing.end_date.toordinal()
    # Far enough for any weekday pattern to repeat; validate only asks "ever?".
    return timing.start_date.toordinal() + 7 * timing.every_n_days


def _days_before(timing: Timing, ordinal: int) -> int:
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


def expand(timing: Timing, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every due instant with start <= due < end: aware UTC, sorted, unique."""
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("expand needs time-zone aware start and end")
    times = timing.times_of_day
    if timing.as_needed or not times or end <= start:
        return []
    # Comparing datetimes that share one tzinfo skips the offset arithmetic.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first_ordinal = timing.start_date.toordinal()
    # A day's doses can land on the next local date (a gap across midnight) and the
    # local date can step back (a fall-back across midnight): one day of margin each
    # side covers both; the window test below drops the extras.
    low = max(start.astimezone(tz).toordinal() - 1, first_ordinal)
    high = end.astimezone(tz).toordinal() + 1
    if timing.end_date is not None:
        high = min(high, timing.end_date.toordinal())
    step = timing.every_n_days
    if step < 1:
        raise ScheduleError(f"every {step} days cannot be: validate the timing first")
    low += (first_ordinal - low) % step  # the first scheduled day on or after low
    if low > high:
        return []
    per_day = len(times)
    left: int | None = None  # slots count still allows
    if timing.count is not None:
        left = timing.count - _days_before(timing, low) * per_day
        if left <= 0:
            return []
    days = timing.days_of_week
    found: list[datetime] = []
    for ordinal in range(low, high + 1, step):
        if days is not None and (ordinal - 1) % 7 not in days:  # ordinal 1 was a Monday
            continue
        dues = _dues_on(tz, ordinal, times)
        if left is not None:
            dues = dues[:left]
            left -= per_day
        for due in dues:
            # The wall-clock rule is monotonic, so results come sorted and any two
            # slots sharing an instant (inside one gap) are neighbours.
            if start <= due < end and (not found or due != found[-1]):
                found.append(due)
        if left is not None and left <= 0:
            break
    return found


def local_label(due: datetime, tz: ZoneInfo) -> str:
    """How a patient sees a due time: 'Tue 24 Nov, 08:00' (English, whatever the locale)."""
    if due.utcoffset() is None:
        raise ValueError("local_label needs a time-zone aware instant")
    local = due.astimezone(tz)
    return (f"{DAY_NAMES[local.weekday()].title()} {local.day} "
            f"{_MONTH_NAMES[local.month - 1]}, {local:%H:%M}")
