"""What patients type, read: readings, snooze durations, times of day, the days and parts
of the day they ask about, in English and Spanish."""

from __future__ import annotations

from datetime import date, time

import pytest

from assistant.domain import parsing

FRIDAY = date(2027, 3, 26)
SATURDAY, SUNDAY, MONDAY = date(2027, 3, 27), date(2027, 3, 28), date(2027, 3, 29)


@pytest.mark.parametrize("text, days", [
    ("wat pils do i hav tmrw", [SATURDAY]), ("what do i take tmr?", [SATURDAY]),
    ("tomoro meds", [SATURDAY]), ("my pills 2moro", [SATURDAY]), ("tommorow?", [SATURDAY]),
    ("the day after tomorrow", [SUNDAY]),
    ("what do I take on friday", [FRIDAY]), ("next friday", [date(2027, 4, 2)]),
    ("sat meds?", [SATURDAY]), ("on sun what do i take", [SUNDAY]), ("Mon?", [MONDAY]),
    ("thurs pills", [date(2027, 4, 1)]), ("wednesday evening", [date(2027, 3, 31)]),
    ("what do i take this weekend", [SATURDAY, SUNDAY]), ("mon and fri", [FRIDAY, MONDAY]),
    ("what do i take today", []), ("what do i take tonight", []), ("i sat down", []),
    ("pills in the sun", []), ("c'mon, what's next", []), ("my monthly pills", []),
])
def test_days_asked(text: str, days: list[date]) -> None:
    assert parsing.days_asked(text, FRIDAY) == days


def test_this_weekend_on_a_sunday_is_what_is_left_of_it() -> None:
    assert parsing.days_asked("meds this weekend", SUNDAY) == [SUNDAY]


@pytest.mark.parametrize("text, part, inside, outside", [
    ("i forgot my morning dose", "morning", time(8), time(12)),
    ("what do i take at lunch", "afternoon", time(13), time(17)),
    ("pills tonite", "evening", time(20), time(16, 59)),
    ("before bed", "evening", time(22), time(9)),
])
def test_part_of_day(text: str, part: str, inside: time, outside: time) -> None:
    found = parsing.part_of_day(text)
    assert found is not None and found.name == part
    assert found.holds(inside) and not found.holds(outside)


def test_no_part_of_day_when_none_is_named() -> None:
    assert parsing.part_of_day("what am i taking") is None


# Spanish (issue 13): readings, durations, times of day, days and parts of the day, as
# Spanish-speaking patients type them: accents or not, Spain's "14/9" or "140 sobre 90".
BP, GLUCOSE, WEIGHT, PULSE, TEMPERATURE, SPO2 = ("blood_pressure", "glucose", "weight",
                                                 "pulse", "temperature", "spo2")
UNITS = {BP: "mmHg", GLUCOSE: "mmol/L", WEIGHT: "kg", PULSE: "bpm", TEMPERATURE: "°C",
         SPO2: "%"}


@pytest.mark.parametrize("text, kind, value, value2", [
    ("la tensión 140/90", BP, 140, 90), ("tension 135/85", BP, 135, 85),
    ("me medi la presion 118 sobre 76", BP, 118, 76), ("TA 136/88", BP, 136, 88),
    ("tengo la tensión a 14/9", BP, 140, 90), ("la alta 15 y la baja 9", BP, 150, 90),
    ("la maxima 150 la minima 95", BP, 150, 95), ("tensión 13,5/8", BP, 135, 80),
    ("azúcar 110", GLUCOSE, 6.1, None), ("azucar 6,5 mmol", GLUCOSE, 6.5, None),
    ("la glucosa 120 en ayunas", GLUCOSE, 6.7, None), ("glucemia 7,2", GLUCOSE, 7.2, None),
    ("peso 80 kilos", WEIGHT, 80, None), ("pesé 81,5 kg esta mañana", WEIGHT, 81.5, None),
    ("la báscula marca 88", WEIGHT, 88, None), ("peso 176 libras", WEIGHT, 79.8, None),
    ("pulso 72", PULSE, 72, None), ("tengo 100 pulsaciones", PULSE, 100, None),
    ("frecuencia cardíaca 68", PULSE, 68, None),
    ("temperatura 37,5", TEMPERATURE, 37.5, None), ("tengo 38 de fiebre", TEMPERATURE, 38, None),
    ("37,8 grados", TEMPERATURE, 37.8, None), ("el termómetro marca 36,6", TEMPERATURE, 36.6, None),
    # English, unchanged
    ("my bp is 142 over 90", BP, 142, 90), ("glucose 126 mg/dl", GLUCOSE, 7.0, None),
    ("weighed myself, 91 kg", WEIGHT, 91, None), ("temp 101F", TEMPERATURE, 38.3, None),
    # oxygen saturation, from an oximeter, in both languages
    ("sats 91", SPO2, 91, None), ("SpO2: 88 %", SPO2, 88, None), ("sp02 95", SPO2, 95, None),
    ("o2 sat 90 this morning", SPO2, 90, None), ("pulse ox says 92", SPO2, 92, None),
    ("my oxygen level is 91", SPO2, 91, None), ("my oxygen reading is 84", SPO2, 84, None),
    ("91% on the oximeter", SPO2, 91, None),
    ("saturación 90", SPO2, 90, None), ("mi oxígeno está en 87", SPO2, 87, None),
    ("el pulsioxímetro marca 95", SPO2, 95, None), ("hoy saturo a 94", SPO2, 94, None),
    # oxygen named, but the reading is another one
    ("I'm on 2 litres of oxygen, bp 130/80", BP, 130, 80),
    ("I sat down, bp 130/80", BP, 130, 80), ("pulse 88 bpm", PULSE, 88, None),
])
def test_readings_in_spanish_and_english(text: str, kind: str, value: float,
                                         value2: float | None) -> None:
    assert parsing.parse_measurement(text) == parsing.Measurement(kind, value, UNITS[kind],
                                                                  value2)


@pytest.mark.parametrize("text", ["la tensión 300/90", "tensión 80/120", "fiebre 45",
                                  "pulso 400", "sats 40", "saturación 120"])
def test_implausible_spanish_readings_are_questioned(text: str) -> None:
    with pytest.raises(parsing.Implausible):
        parsing.parse_measurement(text)


def test_a_spanish_message_without_a_reading_has_none() -> None:
    assert parsing.parse_measurement("quiero anotar la tensión") is None


@pytest.mark.parametrize("text, minutes", [
    ("en media hora", 30), ("recuérdame en 20 minutos", 20), ("dame diez minutos", 10),
    ("en una hora", 60), ("en 2 horas", 120), ("en una hora y media", 90),
    ("un cuarto de hora", 15), ("en un ratito", 10), ("en un par de horas", 120),
    ("más tarde", 15), ("in 20 mins", 20), ("half an hour", 30),
])
def test_snooze_durations_in_spanish_and_english(text: str, minutes: int) -> None:
    assert parsing.parse_duration(text, default=15) == minutes


@pytest.mark.parametrize("text, at", [
    ("recuérdame a las 9", time(9)), ("a las ocho de la noche", time(20)),
    ("a las 10 de la noche", time(22)), ("las 8:30 de la tarde", time(20, 30)),
    ("avísame a las siete y media", time(7, 30)), ("a las 9 y cuarto", time(9, 15)),
    ("a las ocho menos cuarto de la tarde", time(19, 45)), ("a la una", time(1)),
    ("al mediodía", time(12)), ("a medianoche", time(0)), ("a las 12 de la noche", time(0)),
    ("a las 6 de la mañana", time(6)), ("mejor a las 21:00", time(21)),
    ("a las 8 pm", time(20)), ("a las 7.30 am", time(7, 30)),
    ("remind me at 9pm", time(21)), ("at 7", time(7)), ("noon", time(12)),
])
def test_times_of_day_in_spanish_and_english(text: str, at: time) -> None:
    assert parsing.parse_time_of_day(text) == at


def test_a_number_alone_in_spanish_is_not_a_word_time() -> None:
    assert parsing.parse_time_of_day("quiero otra hora, una distinta") is None


@pytest.mark.parametrize("text, days", [
    ("que me toca mañana", [SATURDAY]), ("qué tomo pasado mañana", [SUNDAY]),
    ("que tomo mañana por la mañana", [SATURDAY]), ("que me toca esta mañana", []),
    ("que tomo el domingo", [SUNDAY]), ("qué me toca el sábado", [SATURDAY]),
    ("que tomo el viernes", [FRIDAY]), ("el viernes que viene", [date(2027, 4, 2)]),
    ("el proximo viernes", [date(2027, 4, 2)]), ("que me toca el lunes", [MONDAY]),
    ("qué tomo el miércoles", [date(2027, 3, 31)]), ("este fin de semana", [SATURDAY, SUNDAY]),
    ("que tomo el finde", [SATURDAY, SUNDAY]), ("que tomo hoy", []),
])
def test_days_asked_in_spanish(text: str, days: list[date]) -> None:
    assert parsing.days_asked(text, FRIDAY) == days


@pytest.mark.parametrize("text, part", [
    ("que tomo por la mañana", "morning"), ("la del desayuno", "morning"),
    ("que tomo mañana por la noche", "evening"), ("qué me toca esta tarde", "afternoon"),
    ("que tomo con la comida", "afternoon"), ("antes de dormir", "evening"),
    ("que tomo en la cena", "evening"),
])
def test_part_of_day_in_spanish(text: str, part: str) -> None:
    found = parsing.part_of_day(text)
    assert found is not None and found.name == part


def test_tomorrow_in_spanish_is_not_a_morning() -> None:
    assert parsing.part_of_day("que me toca mañana") is None
