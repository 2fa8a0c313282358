"""When doses fall due: a `Timing`'s wall-clock times in the patient's zone turned into
aware UTC instants, DST included (the rule is in `schedules`' docstring), and a due time
as the patient reads it. Pure: no database, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from assistant.domain.schedules import Timing, days_before
from assistant.errors import InvalidSchedule

_MIDNIGHT = time(0)


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
        raise InvalidSchedule(f"every {step} days cannot be: validate the timing first",
                              field="every_n_days")
    low += (first_ordinal - low) % step  # the first scheduled day on or after low
    if low > high:
        return []
    per_day = len(times)
    left: int | None = None  # slots count still allows
    if timing.count is not None:
        left = timing.count - days_before(timing, low) * per_day
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

