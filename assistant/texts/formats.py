"""Times, dates and numbers the way a patient's language writes them, with Babel.

A clock time, a day or a moment is written with a CLDR pattern that is itself a text of
the catalog (`format.clock`, `format.day`, ...), so each language chooses its own form
("Tue 24 Nov, 08:00"; "martes 24 de nov a las 08:00"), and Babel (CLDR) gives the day and
month names. Values are local already: the caller turns an instant into the patient's
time zone (`at.astimezone(tz)`) first. Medication names, doses and anything the care team
wrote are never formatted here: they stay as written.

    formats.clock(due.astimezone(tz), "es")     # '20:00'
    formats.weekday(1, "es")                    # 'martes'
"""

from __future__ import annotations

from datetime import date, datetime, time

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, get_day_names
from babel.numbers import format_decimal

from assistant.texts import resolve, t


def clock(at: time | datetime, language: str | None = None) -> str:
    """A time of day: '20:00'."""
    code = resolve(language)
    return format_time(at, t("format.clock", code), locale=code)


def day(on: date, language: str | None = None) -> str:
    """A day, short: 'Tue 24 Nov'; 'mar 24 de nov'."""
    code = resolve(language)
    return format_date(on, t("format.day", code), locale=code)


def long_day(on: date, language: str | None = None) -> str:
    """A day with its weekday written out: 'Friday 4 Dec'; 'viernes 4 de dic'."""
    code = resolve(language)
    return format_date(on, t("format.long_day", code), locale=code)


def moment(at: datetime, language: str | None = None) -> str:
    """A local day and time: 'Tue 24 Nov, 08:00'; 'martes 24 de nov a las 08:00'."""
    code = resolve(language)
    return format_datetime(at, t("format.moment", code), locale=code)


def weekday(number: int, language: str | None = None, *, short: bool = False) -> str:
    """The name of a weekday, 0 being Monday (as `date.weekday()` counts): 'Tuesday',
    'martes'; short: 'Tue', 'mar'."""
    names = get_day_names("abbreviated" if short else "wide", locale=resolve(language))
    return str(names[number])


def number(value: float, language: str | None = None, *, decimals: int = 1) -> str:
    """A decimal number with `decimals` places: '6.5'; '6,5'."""
    pattern = "0." + "0" * decimals if decimals else "0"
    return format_decimal(value, pattern, locale=resolve(language))


def language_name(code: str) -> str:
    """A language named in itself, as a patient looks for it: 'English', 'español'; a code
    Babel does not know, as it is (a profile may still hold one from before)."""
    try:
        return Locale.parse(code.replace("-", "_")).display_name or code
    except (UnknownLocaleError, ValueError):
        return code
