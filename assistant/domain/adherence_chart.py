"""The daily adherence chart on the patient page, read at a glance: one bar a local day,
stacked from the bottom as taken (normal colour), skipped, then missed (red) up to the day's
full height, so a day with 0 of 1 doses taken is a full red bar, never a sliver on the
axis; a day with nothing due gets a small grey mark and a dash. A 0 / 50 / 100 % scale with
gridlines, a "taken/due" label under every bar, a one-sentence summary for a screen reader,
and the missed doses grouped by day for the list under the chart.

Pure: counts in, geometry and words out; the console's template draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

SLOT = 17.0                      # per day, of which the bar is BAR wide
BAR = 12.0
LEFT, RIGHT, TOP, PLOT = 34.0, 6.0, 8.0, 120.0
LABEL_Y, DATE_Y, HEIGHT = TOP + PLOT + 14, TOP + PLOT + 30, TOP + PLOT + 36


class Tally:
    """What a count of doses that came due says: `answered` (taken, skipped or missed)
    and the percent taken. For dataclasses with `taken`, `skipped` and `missed`."""

    taken: int
    skipped: int
    missed: int

    @property
    def answered(self) -> int:
        return self.taken + self.skipped + self.missed

    @property
    def percent(self) -> int | None:
        return round(100 * self.taken / self.answered) if self.answered else None


@dataclass(frozen=True, slots=True)
class Day(Tally):
    """One local day's doses that came due: taken, skipped (the patient said so) and
    missed (no answer)."""
    day: date
    taken: int
    skipped: int = 0
    missed: int = 0

    @property
    def shown(self) -> str:
        """For a table cell or a title: "0 of 1", or "nothing due"."""
        return f"{self.taken} of {self.answered}" if self.answered else "nothing due"


@dataclass(frozen=True, slots=True)
class Segment:
    y: float
    height: float
    kind: str           # "taken", "skipped" or "missed"


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    day: Day
    label: str          # under the bar: "0/1", or "–" when nothing was due
    title: str          # the bar's tooltip, in words
    kind: str           # "none", "all" (all taken), "some" or "zero" (none taken)
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Tick:
    at: float           # y of a scale line, x (bar centre) of a date
    text: str


@dataclass
class Chart:
    days: list[Day]
    bars: list[Bar]
    scale: list[Tick]
    dates: list[Tick]
    summary: str
    width: float
    height: float = HEIGHT
    left: float = LEFT
    right: float = 0.0
    top: float = TOP
    bottom: float = TOP + PLOT
    label_y: float = LABEL_Y
    date_y: float = DATE_Y
    bar_width: float = BAR


def _day_words(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _bar(index: int, d: Day) -> Bar:
    x = LEFT + index * SLOT + (SLOT - BAR) / 2
    if not d.answered:
        return Bar(x, d, "–", f"{_day_words(d.day)}: nothing due", "none",
                   [Segment(TOP + PLOT - 3, 3, "none")])
    segments, bottom = [], TOP + PLOT
    for kind, count in (("taken", d.taken), ("skipped", d.skipped), ("missed", d.missed)):
        if count:
            height = PLOT * count / d.answered
            segments.append(Segment(bottom - height, height, kind))
            bottom -= height
    others = ", ".join(f"{n} {what}" for what, n in (("skipped", d.skipped),
                                                     ("missed", d.missed)) if n)
    title = f"{_day_words(d.day)}: {d.shown} taken ({d.percent} %)" + (
        f", {others}" if others else "")
    kind = "all" if d.taken == d.answered else ("zero" if d.taken == 0 else "some")
    return Bar(x, d, f"{d.taken}/{d.answered}", title, kind, segments)


def build(days: Sequence[Day]) -> Chart:
    """The chart of `days` (oldest first, the last one today)."""
    bars = [_bar(i, d) for i, d in enumerate(days)]
    width = LEFT + SLOT * len(days) + RIGHT
    scale = [Tick(TOP + PLOT * (1 - p / 100), f"{p} %") for p in (0, 50, 100)]
    last = len(days) - 1
    dates = [Tick(b.x + BAR / 2, "today" if i == last else f"{b.day.day:%-d %b}")
             for i, b in enumerate(bars) if (last - i) % 7 == 0]
    chart = Chart(list(days), bars, scale, dates, summary(days), width)
    chart.right = width - RIGHT
    return chart


def summary(days: Sequence[Day]) -> str:
    """The chart in one sentence, for a screen reader."""
    due = sum(d.answered for d in days)
    taken = sum(d.taken for d in days)
    if not due:
        return f"Daily adherence, last {len(days)} days: no doses were due"
    short = [d for d in days if d.answered and d.taken < d.answered]
    worst = min(short, key=lambda d: (d.percent or 0, -d.day.toordinal()), default=None)
    nothing = sum(1 for d in days if not d.answered)
    return (f"Daily adherence, last {len(days)} days: {taken} of {due} doses taken "
            f"({round(100 * taken / due)} %); {len(short)} day{'s' if len(short) != 1 else ''}"
            " with a dose not taken"
            + (f", the worst {_day_words(worst.day)} ({worst.shown})" if worst else "")
            + f"; {nothing} day{'s' if nothing != 1 else ''} with nothing due")


def by_day(doses: Sequence[tuple[datetime, str]], zone: tzinfo
           ) -> list[tuple[date, list[tuple[datetime, str]]]]:
    """(due time, medication) pairs grouped by the patient's local day, newest day first,
    each day's doses in time order."""
    days: dict[date, list[tuple[datetime, str]]] = {}
    for at, name in sorted(doses):
        days.setdefault(at.astimezone(zone).date(), []).append((at, name))
    return sorted(days.items(), reverse=True)
