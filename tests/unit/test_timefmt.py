"""The console's times: wall-clock in a stated zone, "ago" in words, and <time> elements
that carry the instant in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment

from assistant.interfaces.web import timefmt

AT = datetime(2027, 3, 2, 14, 5, tzinfo=UTC)       # a Tuesday


def test_local_is_the_wall_clock_of_the_zone_across_dst() -> None:
    assert timefmt.local(AT, "Europe/London") == "Tue 2 Mar 14:05"
    assert timefmt.local(AT, "America/New_York") == "Tue 2 Mar 09:05"     # EST
    summer = AT + timedelta(days=20)                                      # after 14 March
    assert timefmt.local(summer, ZoneInfo("America/New_York")) == "Mon 22 Mar 10:05"  # EDT
    assert timefmt.local(AT.replace(tzinfo=None), "Asia/Tokyo") == "Tue 2 Mar 23:05"  # naive: UTC
    assert timefmt.local(AT, "UTC", "%d %b %Y") == "02 Mar 2027"
    assert timefmt.local(None, "UTC") == "–"


@pytest.mark.parametrize(("delta", "words"), [
    (timedelta(seconds=20), "just now"), (timedelta(minutes=12), "12 min ago"),
    (timedelta(hours=3, minutes=40), "3 h ago"), (timedelta(hours=47), "47 h ago"),
    (timedelta(days=2, hours=5), "2 days ago"), (timedelta(days=20), "2 weeks ago"),
    (-timedelta(hours=3), "in 3 h")])
def test_ago_in_words(delta: timedelta, words: str) -> None:
    assert timefmt.ago(AT - delta, AT) == words


def test_ago_defaults_to_now() -> None:
    assert timefmt.ago(datetime.now(UTC) - timedelta(minutes=5, seconds=2)) == "5 min ago"
    assert timefmt.ago(None) == "–"


def test_when_is_a_time_element_with_the_utc_instant() -> None:
    berlin = AT.astimezone(ZoneInfo("Europe/Berlin"))
    assert str(timefmt.when(berlin, "America/New_York")) == (
        '<time datetime="2027-03-02T14:05:00+00:00">Tue 2 Mar 09:05</time>')
    assert str(timefmt.when(AT, "UTC", "%H:%M", ago=True, now=AT + timedelta(hours=3))) == (
        '<time datetime="2027-03-02T14:05:00+00:00">14:05</time> (3 h ago)')
    assert str(timefmt.when(None, "UTC")) == "–"


def test_registered_filters_work_in_a_template() -> None:
    env = Environment(autoescape=True)
    timefmt.register(env)
    page = env.from_string("{{ at|when(zone) }} · {{ at|local(zone) }} · {{ at|iso }}").render(
        at=AT, zone="Europe/London")
    assert page == ('<time datetime="2027-03-02T14:05:00+00:00">Tue 2 Mar 14:05</time>'
                    " · Tue 2 Mar 14:05 · 2027-03-02T14:05:00+00:00")
