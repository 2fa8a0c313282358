"""The adherence chart's geometry: a day with no dose taken is a full-height red bar, a day
with nothing due a small grey mark, a 0/50/100 % scale, a label under every bar, a summary
for a screen reader, and missed doses grouped by the patient's local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.domain import adherence_chart as ac

TODAY = date(2027, 3, 31)


def _days(*counts: tuple[int, int, int]) -> list[ac.Day]:
    first = TODAY - timedelta(days=len(counts) - 1)
    return [ac.Day(first + timedelta(days=n), *c) for n, c in enumerate(counts)]


def test_none_taken_is_a_full_red_bar_and_nothing_due_a_grey_mark() -> None:
    chart = ac.build(_days((0, 0, 1), (1, 0, 1), (0, 0, 0), (2, 0, 0), (0, 1, 0)))
    zero, half, none, full, skipped = chart.bars
    assert zero.kind == "zero" and zero.label == "0/1"
    assert [(s.kind, s.y, s.height) for s in zero.segments] == [
        ("missed", chart.top, chart.bottom - chart.top)]
    assert [s.kind for s in half.segments] == ["taken", "missed"]
    assert half.segments[0].height == half.segments[1].height == (chart.bottom - chart.top) / 2
    assert half.title == "Sun 28 Mar: 1 of 2 taken (50 %), 1 missed"
    assert none.kind == "none" and none.label == "–" and none.title.endswith("nothing due")
    assert full.kind == "all" and [s.kind for s in full.segments] == ["taken"]
    assert skipped.kind == "zero" and [s.kind for s in skipped.segments] == ["skipped"]


def test_a_scale_of_0_50_100_and_dates_ending_today() -> None:
    chart = ac.build(_days(*[(1, 0, 0)] * 30))
    assert [(t.text, t.at) for t in chart.scale] == [
        ("0 %", chart.bottom), ("50 %", (chart.top + chart.bottom) / 2), ("100 %", chart.top)]
    assert [t.text for t in chart.dates] == ["3 Mar", "10 Mar", "17 Mar", "24 Mar", "today"]
    assert chart.width == ac.LEFT + 30 * ac.SLOT + ac.RIGHT
    assert chart.bars[-1].x + chart.bar_width <= chart.right


def test_the_summary_names_the_worst_day() -> None:
    days = _days((1, 0, 0), (0, 0, 2), (1, 0, 1), (0, 0, 0))
    assert ac.summary(days) == (
        "Daily adherence, last 4 days: 2 of 5 doses taken (40 %); 2 days with a dose not "
        "taken, the worst Mon 29 Mar (0 of 2); 1 day with nothing due")
    assert ac.summary(_days((0, 0, 0))) == "Daily adherence, last 1 days: no doses were due"
    assert days[1].shown == "0 of 2" and days[3].shown == "nothing due"
    assert days[2].percent == 50 and days[3].percent is None


def test_missed_doses_are_grouped_by_local_day_newest_first() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    late = datetime(2027, 3, 30, 16, tzinfo=UTC)            # 01:00 on 31 March in Tokyo
    doses = [(late, "Metformin"), (late - timedelta(hours=10), "Lisinopril"),
             (late - timedelta(hours=8), "Metformin")]
    assert ac.by_day(doses, tokyo) == [
        (date(2027, 3, 31), [(late, "Metformin")]),
        (date(2027, 3, 30), [(late - timedelta(hours=10), "Lisinopril"),
                             (late - timedelta(hours=8), "Metformin")])]
