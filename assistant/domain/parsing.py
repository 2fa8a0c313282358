"""Reading what patients type: measurements, snooze durations, times of day, the days
and parts of the day they ask about.

Pure functions, no Duckling server: the phrasings people really use ("142 over 90",
"half an hour", "9pm", "tmrw", "fri") and their units, normalised to one unit per kind.
Spanish too, accents or not: "la tensión 14/9", "azucar 110", "37,5 de fiebre", "en
media hora", "a las ocho de la noche".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta


@dataclass(frozen=True)
class Measurement:
    kind: str               # blood_pressure, glucose, weight, pulse, temperature, spo2
    value: float
    unit: str               # mmHg, mmol/L, kg, bpm, °C, %
    value2: float | None = None


# Outside these ranges a value is questioned, not stored.
PLAUSIBLE = {"systolic": (60, 260), "diastolic": (30, 160), "glucose": (1.0, 40.0),
             "weight": (20, 350), "pulse": (25, 250), "temperature": (33.0, 43.0),
             "spo2": (50, 100)}
# An oximeter's oxygen saturation, its number beside its words: "sats 91", "spo2: 94%",
# "oxygen is at 88", "91% on the oximeter", "saturación de 90", "mi oxígeno está en 87"
# ("I'm on 2 litres of oxygen, bp 130/80" is no saturation).
_SPO2 = (r"(?:spo2|sp02|sao2|sats|o2 sats?|o2 saturation|o2|oxygen(?: saturation| sats?| level)?"
         r"|saturation|pulse ?ox(?:imeter)?|oximeter|saturacion(?: de oxigeno)?|saturo|satura"
         r"|saturando|oxigeno|pulsioximetro)")
_FILLER = (r"(?:\s*(?:[:=]|(?:is|was|are|at|of|now|says|reads|shows|showed|reading|de|en|es|"
           r"esta|a|al|me|da|dio|marca|marco|lectura)\b))*\s*")
_SPO2_READING = (rf"\b{_SPO2}\b{_FILLER}(\d{{2,3}})\b(?![.,/]\d)"
                 rf"|\b(\d{{2,3}})\s*%?\s*(?:on (?:the |my )?|en el )?{_SPO2}\b")
MG_DL_PER_MMOL_L = 18.016
_NUMBER = r"(\d{1,3}(?:[.,]\d{1,2})?)"
_BP_WORDS = r"\b(?:bp|tension|presion|ta|t\.a|alta|maxima)\b"


class Implausible(ValueError):
    """A value people do not have: `measure` and `value` when one is out of its range,
    neither when blood pressure's second number is not the lower (the words are the
    catalog's: assistant/texts)."""

    def __init__(self, measure: str | None = None, value: float | None = None) -> None:
        super().__init__(f"implausible {measure or 'blood pressure'}")
        self.measure, self.value = measure, value


def _plain(text: str) -> str:
    """Lower case without accents: "Tensión" and "tension" read the same ("°" stays)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def _check(name: str, value: float) -> None:
    low, high = PLAUSIBLE[name]
    if not low <= value <= high:
        raise Implausible(name, value)


def parse_measurement(text: str) -> Measurement | None:
    """The measurement in `text`, normalised; None when there is none; `Implausible`
    when the value cannot be right."""
    t = _plain(text)
    spo2 = re.search(_SPO2_READING, t)   # first: "pulse ox 91", "sp02 95"
    if spo2:
        value = float(spo2.group(1) or spo2.group(2))
        _check("spo2", value)
        return Measurement("spo2", value, "%")
    bp = re.search(r"(\d{2,3})\s*(?:/|over|sobre|\s)\s*(\d{2,3})\b", t)
    if not bp and re.search(_BP_WORDS, t):  # "tension 14/9", "la alta 15 y la baja 9"
        bp = re.search(r"(\d{1,3}(?:[.,]\d)?)\D{1,25}?(\d{1,3}(?:[.,]\d)?)", t)
    if bp and not re.search(r"\d\s*(kg|kilo|lb|lbs|mg|mmol)", t):
        systolic, diastolic = _num(bp.group(1)), _num(bp.group(2))
        if systolic < 30 and diastolic < 30:  # centimetres of mercury, as Spain says it
            systolic, diastolic = round(systolic * 10), round(diastolic * 10)
        _check("systolic", systolic)
        _check("diastolic", diastolic)
        if diastolic >= systolic:
            raise Implausible()
        return Measurement("blood_pressure", systolic, "mmHg", diastolic)
    number = re.search(_NUMBER, t)
    if not number:
        return None
    value = _num(number.group(1))
    if re.search(r"\b(sugar|glucose|bg|bs|azucar|glucosa|gluc?emia|glicemia|dextro|glucometro)\b"
                 r"|mmol|mg\s*/?\s*dl", t):
        if "mg" in t or (value > 40 and "mmol" not in t):
            value = round(value / MG_DL_PER_MMOL_L, 1)
        _check("glucose", value)
        return Measurement("glucose", value, "mmol/L")
    if re.search(r"\b(weigh|weight|kg|kgs|lb|lbs|pounds?|kilos?|kilogramos?|libras?|peso|pese|"
                 r"pesaba|bascula|balanza)\b|\dkg|\dlbs?", t):
        if re.search(r"lb|pound|libra", t):
            value = round(value * 0.45359237, 1)
        _check("weight", value)
        return Measurement("weight", value, "kg")
    if re.search(r"\b(pulse|heart ?rate|hr|bpm|pulso|pulsaciones|frecuencia|ppm|lpm|latidos)\b",
                 t):
        _check("pulse", value)
        return Measurement("pulse", value, "bpm")
    if re.search(r"\b(temp|temperature|fever|temperatura|fiebre|grados|termometro)\b|°|\d\s*[cf]\b",
                 t):
        if re.search(r"\d\s*°?\s*f\b|fahrenheit", t) or value > 50:
            value = round((value - 32) * 5 / 9, 1)
        _check("temperature", value)
        return Measurement("temperature", value, "°C")
    return None


_WORD_MINUTES = {"hora y media": 90, "media hora": 30, "media horita": 30,
                 "cuarto de hora": 15, "una hora": 60, "una horita": 60, "un par de horas": 120,
                 "unos minutos": 10, "un ratito": 10, "un rato": 15,
                 "half an hour": 30, "half hour": 30, "quarter of an hour": 15, "an hour": 60,
                 "one hour": 60, "a few minutes": 10, "a bit": 15, "a couple of hours": 120,
                 "couple hours": 120}


def parse_duration(text: str, default: int) -> int:
    """Snooze minutes from 'in 20 mins', '1h', 'half an hour'; `default` for 'later'.
    Bounded to 1..240 minutes."""
    t = _plain(text)
    for word, number in _ES_NUMBERS.items():  # "en diez minutos", "dos horas"
        t = re.sub(rf"\b{word}(?= (?:minutos?|horas?)\b)", str(number), t)
    minutes: float | None = None
    match = re.search(r"(\d+(?:[.,]\d+)?)\s*(h|hr|hrs|hour|hours|m|min|mins|minute|minutes|"
                      r"horas?|horitas?|minutos?|minutitos)\b", t)
    if match:
        amount = _num(match.group(1))
        minutes = amount * 60 if match.group(2).startswith("h") else amount
        if match.group(2).startswith("h") and t[match.end():].startswith(" y media"):
            minutes += 30
    else:
        for words, value in _WORD_MINUTES.items():
            if words in t:
                minutes = value
                break
    if minutes is None:
        return default
    return max(1, min(240, round(minutes)))


_ES_NUMBERS = {"cuarenta y cinco": 45, "veinticinco": 25, "cuarenta": 40, "treinta": 30,
               "veinte": 20, "quince": 15, "diez": 10, "cinco": 5, "doce": 12, "once": 11,
               "nueve": 9, "ocho": 8, "siete": 7, "seis": 6, "cuatro": 4, "tres": 3, "dos": 2,
               "una": 1, "un": 1}
_ES_HOUR = r"\d{1,2}|" + "|".join(w for w, n in _ES_NUMBERS.items() if n <= 12 and w != "un")
_ES_TIME = re.compile(
    rf"(\blas?\s+)?\b({_ES_HOUR})(?:[:.](\d{{2}}))?(\s+y media|\s+y cuarto|\s+menos cuarto)?"
    r"(\s+(?:de la|en la|por la)\s+(?:manana|tarde|noche|madrugada))?\b(?![:.]\d|\s*[ap]\.?m\b)")


def _spanish_time(t: str) -> time | None:
    """'a las 9', 'las ocho de la noche', '8 y media', 'la una menos cuarto' → a time."""
    for match in _ES_TIME.finditer(t):
        article, hour_text, minutes, part, day_part = match.groups()
        if not (article or part or day_part):
            continue  # a bare "9" or "una" is not a Spanish time of day
        hour = int(hour_text) if hour_text.isdigit() else _ES_NUMBERS[hour_text]
        minute = int(minutes or 0) + {"y media": 30, "y cuarto": 15}.get(
            " ".join((part or "").split()), 0)
        if part and "menos" in part:
            hour, minute = hour - 1, 45
        if day_part and ("tarde" in day_part or "noche" in day_part) and hour < 12:
            hour += 12
        elif day_part and "noche" in day_part and hour == 12:
            hour = 0
        if 0 <= hour <= 23 and minute <= 59:
            return time(hour, minute)
    return None


def parse_time_of_day(text: str) -> time | None:
    """'9pm', '21:00', 'at 7', '7.30 am', 'noon', 'a las ocho de la noche' → a time; None
    when there is none."""
    t = _plain(text)
    if "noon" in t or "midday" in t or "mediodia" in t:
        return time(12, 0)
    if "midnight" in t or "medianoche" in t:
        return time(0, 0)
    spanish = _spanish_time(t)
    if spanish:
        return spanish
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
    ("lunes", 0), ("martes", 1), ("miercoles", 2), ("jueves", 3), ("viernes", 4),
    ("sabados?", 5), ("domingos?", 6),
)
# "mañana" is tomorrow, "la mañana" / "esta mañana" the morning.
_ES_TOMORROW = r"(?<!\bla )(?<!\besta )(?<!\bpasado )\bmanana\b"


def _days_named(t: str, today: date) -> list[date]:
    found: list[date] = []
    if re.search(rf"\bday after (?:{_TOMORROW})\b|\bpasado manana\b", t):
        found.append(today + timedelta(days=2))
    elif re.search(rf"\b(?:{_TOMORROW})\b|{_ES_TOMORROW}", t):
        found.append(today + timedelta(days=1))
    if re.search(r"\b(?:this |the |next )?week-?ends?\b|\bfin de semana\b|\bfinde", t):
        if today.weekday() == 6:  # Sunday: what is left of the weekend is today
            found.append(today)
        else:
            saturday = today + timedelta(days=5 - today.weekday())
            found += [saturday, saturday + timedelta(days=1)]
    for pattern, weekday in _WEEKDAY_WORDS:
        match = re.search(rf"\b(next |proxim[oa] )?(?:{pattern})\b( que viene)?", t)
        if match:
            ahead = (weekday - today.weekday()) % 7
            later = match.group(1) or match.group(2)
            found.append(today + timedelta(days=ahead or (7 if later else 0)))
    return found


def days_asked(text: str, today: date) -> list[date]:
    """The local days a question is about, in order: 'tmrw' → tomorrow, 'on fri' → the
    coming Friday (today when it is Friday; 'next fri' → the one after today), 'this
    weekend' → its Saturday and Sunday still to come. Empty when no day is named
    ('today', 'tonight' and no day at all mean today)."""
    return sorted(set(_days_named(" ".join(_plain(text).split()), today)))


@dataclass(frozen=True)
class PartOfDay:
    name: str   # "morning", "afternoon", "evening"
    start: int  # local hours [start, end)
    end: int

    def holds(self, at: time) -> bool:
        return self.start <= at.hour < self.end


_PARTS = (
    (r"morning|mornin|breakfast|brekfast|brekkie|\b(?:la|esta) manana|desayuno|ayunas|levantarme",
     PartOfDay("morning", 0, 12)),
    (r"afternoon|arvo|lunch|midday|noon|\b(?:la|esta) tarde|mediodia|comida|almuerzo|merienda",
     PartOfDay("afternoon", 12, 17)),
    (r"evening|tonight|tonite|2nite|night|bedtime|\bbed\b|dinner|supper|noche|cena|dormir|"
     r"acostar", PartOfDay("evening", 17, 24)),
)


def part_of_day(text: str) -> PartOfDay | None:
    """The part of the day a message names ('my morning dose', 'tonite'), or None."""
    t = _plain(text)
    for pattern, part in _PARTS:
        if re.search(pattern, t):
            return part
    return None
