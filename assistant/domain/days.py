"""The days of the week, one way everywhere: 0 is Monday (as `date.weekday()` counts),
short codes ("mon") as schedules are typed and the API speaks them, full names as people
read them."""

from __future__ import annotations

from typing import Literal, get_args

DayCode = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_CODES: tuple[DayCode, ...] = get_args(DayCode)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
