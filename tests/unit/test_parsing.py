"""The days and parts of the day patients ask about, as they type them."""

from __future__ import annotations

import re
from datetime import date, time

import pytest

from assistant import texts
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


@pytest.mark.parametrize("text, kind, value", [
    ("presión 135/85", "blood_pressure", 135), ("tensión 135 sobre 85", "blood_pressure", 135),
    ("azúcar 6,5", "glucose", 6.5), ("azucar 110", "glucose", 6.1), ("glucosa 5.8", "glucose", 5.8),
    ("peso 82 kg", "weight", 82), ("peso 82", "weight", 82), ("pulso 72", "pulse", 72),
    ("pulsaciones 64", "pulse", 64), ("fiebre 38,2", "temperature", 38.2),
    ("temperatura 37", "temperature", 37),
])
def test_spanish_readings_as_the_spanish_catalog_suggests_them(text: str, kind: str,
                                                                value: float) -> None:
    found = parsing.parse_measurement(text)
    assert found is not None and (found.kind, found.value) == (kind, value)


@pytest.mark.parametrize("language", texts.languages())
def test_the_readings_the_catalog_suggests_are_read(language: str) -> None:
    said = " ".join(texts.t(msgid, language=language, measure="X", reading="X", how="X")
                    for msgid in ("confirm.ask_high", "confirm.ask_low")) + texts.t(
        "reading.unreadable", language=language)
    quoted = ("".join(groups) for groups in re.findall(r"«([^»]+)»|(?<!\w)'([^']+)'(?!\w)", said))
    examples = [text for text in quoted if re.search(r"\d", text)]  # readings, not quoted words
    assert len(examples) >= 6
    for example in examples:
        assert parsing.parse_measurement(example) is not None, (language, example)
