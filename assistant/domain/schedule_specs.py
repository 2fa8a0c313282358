"""A schedule as people type it (`ScheduleSpec`: `--at 08:00 --days mon,wed,fri`), made
into a checked `Timing`, and a `Timing` to and from the row that stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from assistant.domain import schedules, zones
from assistant.storage.db import utcnow
from assistant.storage.models import DoseSchedule


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as people type it (`--at 08:00 --days mon,wed,fri`)."""

    times: tuple[str, ...] = ()
    days: str | None = None
    every_n_days: int = 1
    start_date: date | None = None
    end_date: date | None = None
    count: int | None = None
    as_needed: bool = False

    def timing(self, tz_name: str, now: datetime | None = None) -> schedules.Timing:
        """The validated timing; the start defaults to today (at `now`, the clock by
        default) in the patient's zone. An error is an InvalidSchedule naming the field at
        fault (`times: ...`, `every_n_days: ...`, `timezone: ...`)."""
        times = schedules.parse_times(self.times)
        days = schedules.parse_days(self.days)
        start = self.start_date or (now or utcnow()).astimezone(zones.zone(tz_name)).date()
        timing = schedules.Timing(
            times_of_day=times, days_of_week=days, every_n_days=self.every_n_days,
            start_date=start, end_date=self.end_date, count=self.count,
            as_needed=self.as_needed,
        )
        schedules.validate(timing, tz_name)
        return timing


def schedule_row(medication_id: int, timing: schedules.Timing,
                 written_at: datetime | None = None) -> DoseSchedule:
    return DoseSchedule(
        medication_id=medication_id,
        updated_at=written_at or utcnow(),  # no dose due before this is reminded
        times_of_day=[t.strftime("%H:%M") for t in timing.times_of_day],
        days_of_week=sorted(timing.days_of_week) if timing.days_of_week is not None else None,
        every_n_days=timing.every_n_days,
        start_date=timing.start_date,
        end_date=timing.end_date,
        count=timing.count,
        as_needed=timing.as_needed,
    )


def timing_of(row: DoseSchedule) -> schedules.Timing:
    return schedules.Timing(
        times_of_day=schedules.parse_times(row.times_of_day),
        days_of_week=frozenset(row.days_of_week) if row.days_of_week is not None else None,
        every_n_days=row.every_n_days,
        start_date=row.start_date,
        end_date=row.end_date,
        count=row.count,
        as_needed=row.as_needed,
    )
