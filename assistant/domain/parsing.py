"""Reading what patients type: measurements, snooze durations, times of day, the days
and parts of the day they ask about.

Pure functions, no Duckling server: the phrasings people really use ("142 over 90",
"half an hour", "9pm", "tmrw", "fri") and their units, normalised to one unit per kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta


@dataclass(frozen=True)
class Measurement:
    kind: str               # blood_pressure, glucose, weight, pulse, temperature
    value: float
    unit: str               # mmHg, mmol/L, kg, bpm, °C
    value2: float | None = None


# Outside these ranges a value is questioned, not stored.
PLAUSIBLE = {"systolic": (60, 260), "diastolic": (30, 160), "glucose": (1.0, 40.0),
             "weight": (20, 350), "pulse": (25, 250), "temperature": (33.0, 43.0)}
MG_DL_PER_MMOL_L = 18.016
_NUMBER = r"(\d{1,3}(?:[.,]\d{1,2})?)"


class Implausible(ValueError):
    """A value people do not have: `measure` and `value` when one is out of its range,
    neither when blood pressure's second number is not the lower (the words are the
    catalog's: assistant/texts)."""

    def __init__(self, measure: str | None = None, value: float | None = None) -> None:
        super().__init__(f"implausible {measure or 'blood pressure'}")
        self.measure, self.value = measure, value


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def _check(name: str, value: float) -> None:
    low, high = PLAUSIBLE[name]
    if not low <= value <= high:
        raise Implausible(name, value)


def parse_measurement(text: str) -> Measurement | None:
    """The measurement in `text`, normalised; None when there is none; `Implausible`
    when the value cannot be right."""
    t = text.lower().replace("℃", "°c").replace("℉", "°f")
    bp = re.search(r"(\d{2,3})\s*(?:/|over|sobre|\s)\s*(\d{2,3})\b", t)
    if bp and not re.search(r"\d\s*(kg|lb|lbs|mg|mmol)", t):
        systolic, diastolic = float(bp.group(1)), float(bp.group(2))
        _check("systolic", systolic)
        _check("diastolic", diastolic)
        if diastolic >= systolic:
            raise Implausible()
        return Measurement("blood_pressure", systolic, "mmHg", diastolic)
    number = re.search(_NUMBER, t)
    if not number:
        return None
    value = _num(number.group(1))
    if re.search(r"\b(sugar|glucose|bg|bs|az[uú]car|glucosa|glucemia)\b|mmol|mg\s*/?\s*dl", t):
        if "mg" in t or (value > 40 and "mmol" not in t):
            value = round(value / MG_DL_PER_MMOL_L, 1)
        _check("glucose", value)
        return Measurement("glucose", value, "mmol/L")
    if re.search(r"\b(weigh|weight|kg|kgs|lb|lbs|pounds?|peso|pesa|kilos?)\b|\dkg|\dlbs?", t):
        if re.search(r"lb|pound", t):
            value = round(value * 0.45359237, 1)
        _check("weight", value)
        return Measurement("weight", value, "kg")
    if re.search(r"\b(pulse|heart ?rate|hr|bpm|pulso|pulsaciones|lpm|ppm)\b", t):
        _check("pulse", value)
        return Measurement("pulse", value, "bpm")
    if re.search(r"\b(temp|temperature|fever|temperatura|fiebre)\b|°|\d\s*[cf]\b", t):
        if re.search(r"\d\s*°?\s*f\b|fahrenheit", t) or value > 50:
            value = round((value - 32) * 5 / 9, 1)
        _check("temperature", value)
        return Measurement("temperature", value, "°C")
    return None


_WORD_MINUTES = {"half an hour": 30, "half hour": 30, "quarter of an hour": 15,
                 "an hour": 60, "one hour": 60, "a few minutes": 10, "a bit": 15,
                 "a couple of hours": 120, "couple hours": 120}


def parse_duration(text: str, default: int) -> int:
    """Snooze minutes from 'in 20 mins', '1h', 'half an hour'; `default` for 'later'.
    Bounded to 1..240 minutes."""
    t = text.lower()
    minutes: float | None = None
    match = re.search(r"(\d+(?:[.,]\d+)?)\s*(h|hr|hrs|hour|hours|m|min|mins|minute|minutes)\b", t)
    if match:
        amount = _num(match.group(1))
        minutes = amount * 60 if match.group(2).startswith("h") else amount
    else:
        for words, value in _WORD_MINUTES.items():
            if words in t:
                minutes = value
                break
    if minutes is None:
        return default
    return max(1, min(240, round(minutes)))


def parse_time_of_day(text: str) -> time | None:
    """'9pm', '21:00', 'at 7', '7.30 am', 'noon' → a time; None when there is none."""
    t = text.lower()
    if "noon" in t or "midday" in t:
        return time(12, 0)
    if "midnight" in t:
        return time(0, 0)
    match = re.search(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", t)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").replace(".", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


# Days as patients type them, typos included. Weekday abbreviations count only as whole
# words, and "sat"/"sun" only where a day fits ("on sat", "sun meds?"), not in "i sat
# down" or "in the sun".
_TOMORROW = r"to?m+or+o+w*|tomrrow|tomoz|tmr+w?|tmw|2m+or+o*w*|2mr[ow]?"
_DAY_AFTER = r"(?=\s*(?:[?!.,]|$|morning|evening|night|meds?|pills?|tablets?|doses?))"
_WEEKDAY_WORDS = (
    (r"mondays?|(?<!')mon", 0), (r"tuesdays?|tues?", 1),
    (r"wed+nes?days?|wensdays?|wendsdays?|weds?", 2), (r"thursdays?|thu|thur|thurs", 3),
    (r"fridays?|fri", 4),
    (rf"saturdays?|(?<!i )sat{_DAY_AFTER}|(?<=on )sat", 5),
    (rf"sundays?|(?<!the )sun{_DAY_AFTER}|(?<=on )sun", 6),
)


def _days_named(t: str, today: date) -> list[date]:
    found: list[date] = []
    if re.search(rf"\bday after (?:{_TOMORROW})\b", t):
        found.append(today + timedelta(days=2))
    elif re.search(rf"\b(?:{_TOMORROW})\b", t):
        found.append(today + timedelta(days=1))
    if re.search(r"\b(?:this |the |next )?week-?ends?\b", t):
        if today.weekday() == 6:  # Sunday: what is left of the weekend is today
            found.append(today)
        else:
            saturday = today + timedelta(days=5 - today.weekday())
            found += [saturday, saturday + timedelta(days=1)]
    for pattern, weekday in _WEEKDAY_WORDS:
        match = re.search(rf"\b(next )?(?:{pattern})\b", t)
        if match:
            ahead = (weekday - today.weekday()) % 7
            found.append(today + timedelta(days=ahead or (7 if match.group(1) else 0)))
    return found


def days_asked(text: str, today: date) -> list[date]:
    """The local days a question is about, in order: 'tmrw' → tomorrow, 'on fri' → the
    coming Friday (today when it is Friday; 'next fri' → the one after today), 'this
    weekend' → its Saturday and Sunday still to come. Empty when no day is named
    ('today', 'tonight' and no day at all mean today)."""
    return sorted(set(_days_named(" ".join(text.lower().split()), today)))


@dataclass(frozen=True)
class PartOfDay:
    name: str   # "morning", "afternoon", "evening"
    start: int  # local hours [start, end)
    end: int

    def holds(self, at: time) -> bool:
        return self.start <= at.hour < self.end


_PARTS = (
    (r"morning|mornin|breakfast|brekfast|brekkie", PartOfDay("morning", 0, 12)),
    (r"afternoon|arvo|lunch|midday|noon", PartOfDay("afternoon", 12, 17)),
    (r"evening|tonight|tonite|2nite|night|bedtime|\bbed\b|dinner|supper",
     PartOfDay("evening", 17, 24)),
)


def part_of_day(text: str) -> PartOfDay | None:
    """The part of the day a message names ('my morning dose', 'tonite'), or None."""
    t = text.lower()
    for pattern, part in _PARTS:
        if re.search(pattern, t):
            return part
    return None
