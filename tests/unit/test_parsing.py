"""The days and parts of the day patients ask about, as they type them."""

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
