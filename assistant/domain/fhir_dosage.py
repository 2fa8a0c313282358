"""FHIR's Dosage and Timing as CareLoop keeps them: a MedicationRequest's dose, whether it is
taken as needed, and its Timing.repeat as a CareLoop schedule; anything a schedule has no
place for is refused, naming the element."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from fhir.resources.dosage import Dosage as Dosage5
from fhir.resources.R4B.dosage import Dosage as Dosage4
from fhir.resources.R4B.timing import Timing as Timing4
from fhir.resources.timing import Timing as Timing5

from assistant.domain.days import DAY_CODES
from assistant.domain.fhir_medication import concept_text, number_text, quantity_text
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import InvalidInput

DOSAGE = "dosageInstruction[0]"
REPEAT = f"{DOSAGE}.timing.repeat"
# Timing.repeat elements a CareLoop schedule has no place for.
_UNSUPPORTED_REPEAT = (
    "boundsDuration", "boundsRange", "countMax", "duration", "durationMax", "durationUnit",
    "frequencyMax", "periodMax", "when", "offset",
)


def as_needed_for(dosage: Dosage4 | Dosage5) -> tuple[bool, str]:
    """(as needed?, what for) from asNeededBoolean/asNeededCodeableConcept or asNeeded/For."""
    if isinstance(dosage, Dosage5):
        reasons = [concept_text(concept, f"{DOSAGE}.asNeededFor[{i}]")
                   for i, concept in enumerate(dosage.asNeededFor or [])]
        return bool(dosage.asNeeded) or bool(reasons), ", ".join(reasons)
    if dosage.asNeededCodeableConcept is not None:
        return True, concept_text(dosage.asNeededCodeableConcept,
                                   f"{DOSAGE}.asNeededCodeableConcept")
    return bool(dosage.asNeededBoolean), ""


def dose_text(dosage: Dosage4 | Dosage5) -> str:
    entries = dosage.doseAndRate or []
    if len(entries) > 1:
        raise InvalidInput(f"{DOSAGE}.doseAndRate has {len(entries)} entries: send one")
    if not entries:
        return "1 tablet"
    entry, where = entries[0], f"{DOSAGE}.doseAndRate[0]"
    for rate in ("rateQuantity", "rateRange", "rateRatio"):
        if getattr(entry, rate) is not None:
            raise InvalidInput(f"{where}.{rate} cannot be imported: CareLoop reminds of "
                               "doses, not infusion rates")
    if entry.doseRange is not None:
        raise InvalidInput(f"{where}.doseRange cannot be imported: give one doseQuantity")
    if entry.doseQuantity is None:
        return "1 tablet"
    return quantity_text(entry.doseQuantity, f"{where}.doseQuantity")


_UNITS = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days", "wk": "weeks",
          "mo": "months", "a": "years"}


def prn_limit(timing: Timing4 | Timing5 | None) -> str:
    """An as-needed medicine is never reminded: its frequency is a limit, kept in words."""
    repeat = timing.repeat if timing else None
    if repeat is None or repeat.timeOfDay or repeat.period is None or not repeat.periodUnit:
        return ""
    most = repeat.frequencyMax or repeat.frequency or 1
    return (f"at most {most} time{'s' if most > 1 else ''} every {number_text(repeat.period)} "
            f"{_UNITS.get(repeat.periodUnit, repeat.periodUnit)}")


def schedule_of(timing: Timing4 | Timing5 | None, as_needed: bool) -> ScheduleSpec:
    if as_needed and (timing is None or timing.repeat is None or not timing.repeat.timeOfDay):
        return ScheduleSpec(as_needed=True)
    if timing is None:
        if as_needed:
            return ScheduleSpec(as_needed=True)
        raise InvalidInput(f"{DOSAGE}.timing is missing: give timing.repeat.timeOfDay "
                           "(e.g. 08:00:00), or asNeeded")
    if timing.modifierExtension:
        raise InvalidInput(f"{DOSAGE}.timing.modifierExtension cannot be imported")
    if timing.event:
        raise InvalidInput(f"{DOSAGE}.timing.event (one-off dates) cannot be imported: "
                           "give timing.repeat")
    repeat = timing.repeat
    if repeat is None:
        if timing.code is not None:
            raise InvalidInput(f"{DOSAGE}.timing.code without timing.repeat cannot be "
                               "imported: give timing.repeat.timeOfDay")
        if as_needed:
            return ScheduleSpec(as_needed=True)
        raise InvalidInput(f"{REPEAT} is missing: give timing.repeat.timeOfDay "
                           "(e.g. 08:00:00), or asNeeded")
    for element in _UNSUPPORTED_REPEAT:
        if getattr(repeat, element):
            raise InvalidInput(f"{REPEAT}.{element} cannot be imported: CareLoop schedules "
                               "use timeOfDay, dayOfWeek, frequency/period in days, "
                               "boundsPeriod and count")
    times = []
    for i, at in enumerate(repeat.timeOfDay or []):
        if at is None:
            continue
        if at.second or at.microsecond:
            raise InvalidInput(f"{REPEAT}.timeOfDay[{i}] {at.isoformat()} has seconds: "
                               "give whole minutes, e.g. 08:00:00")
        times.append(at.strftime("%H:%M"))
    days = []
    for i, day in enumerate(repeat.dayOfWeek or []):
        if day not in DAY_CODES:
            raise InvalidInput(f"{REPEAT}.dayOfWeek[{i}] {day!r} is not a day: "
                               "use mon, tue, wed, thu, fri, sat or sun")
        days.append(day)
    every_n_days = _every_n_days(repeat.frequency, repeat.period, repeat.periodUnit,
                                 len(times), len(days))
    if not times and not as_needed:
        raise InvalidInput(f"{REPEAT}.timeOfDay is missing: CareLoop reminds at clock "
                           "times; give timeOfDay (e.g. 08:00:00), or asNeeded")
    bounds = repeat.boundsPeriod
    return ScheduleSpec(
        times=tuple(times), days=",".join(days) or None, every_n_days=every_n_days,
        start_date=_date(bounds.start, f"{REPEAT}.boundsPeriod.start") if bounds else None,
        end_date=_date(bounds.end, f"{REPEAT}.boundsPeriod.end") if bounds else None,
        count=repeat.count, as_needed=as_needed,
    )


def _every_n_days(frequency: int | None, period: Decimal | None, unit: str | None,
                  n_times: int, n_days: int) -> int:
    """The interval in days that frequency/period/periodUnit say, checked against the rest."""
    if frequency is None and period is None and unit is None:
        return 1
    if period is None or unit is None:
        raise InvalidInput(f"{REPEAT}: frequency, period and periodUnit go together; "
                           "give period and periodUnit (e.g. 1 and d)")
    shown = number_text(period)
    if unit == "d":
        if period != int(period) or period < 1:
            raise InvalidInput(f"{REPEAT}.period {shown} d cannot be imported: give a whole "
                               "number of days")
        every = int(period)
        span = "day" if every == 1 else f"{every} days"
        times = frequency or 1
        if times > 1 and n_times == 0:
            raise InvalidInput(f"{REPEAT}: frequency {times} per {span} needs the clock "
                               "times: give timeOfDay")
        if n_times and times != n_times:
            raise InvalidInput(f"{REPEAT}: frequency {times} per {span} but "
                               f"{n_times} timeOfDay")
        return every
    if unit == "wk":
        if period != 1:
            raise InvalidInput(f"{REPEAT}.period {shown} wk cannot be imported: weekly "
                               "schedules repeat every week (period 1) on dayOfWeek")
        if n_days == 0:
            raise InvalidInput(f"{REPEAT}.periodUnit 'wk' needs dayOfWeek: give the days "
                               "of the week (e.g. mon, thu)")
        per_week = n_days * max(n_times, 1)
        if frequency is not None and frequency != per_week:
            raise InvalidInput(f"{REPEAT}: frequency {frequency} per week but dayOfWeek "
                               f"and timeOfDay give {per_week}")
        return 1
    raise InvalidInput(f"{REPEAT}.periodUnit {unit!r} cannot be imported: CareLoop "
                       "schedules repeat in whole days (d) or weekly on dayOfWeek (wk)")


def _date(value: date | datetime | str | None, where: str) -> date | None:
    """The date part of a FHIR date or dateTime; partial dates ('2027-01') are refused."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise InvalidInput(f"{where} {value!r} is not a full date: give YYYY-MM-DD")
