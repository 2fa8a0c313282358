"""Times on the console's pages, in one stated zone (the patient's on a patient's page),
as Jinja filters registered on the console's templates (`register`):

    {{ at|local(patient.timezone) }}     Tue 3 Mar 14:05
    {{ at|local(zone, "%d %b %Y") }}    03 Mar 2027 (any strftime format)
    {{ at|ago }}  {{ at|ago(now) }}     3 h ago, 2 days ago, in 5 min
    {{ at|when(zone) }}                 <time datetime="2027-03-03T14:05:00+00:00">Tue 3 Mar
                                        14:05</time> (the datetime attribute in UTC)
    {{ at|when(zone, ago=True) }}       the same, then " (3 h ago)"
    {{ at|iso }}                        2027-03-03T14:05:00+00:00

`zone` is an IANA name or a tzinfo; a naive datetime is taken as UTC; None shows "–".
Say the zone once near the top of the page ("Times in Europe/London") and use these for
every time under it: the patient's zone on a patient's page, the team's
(`care_teams.timezone`) on a page of many patients. `ago` is relative to the request's
time unless a `now` is given (tests pass one).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from jinja2 import Environment
from markupsafe import Markup, escape

from assistant.domain import zones

FORMAT = "%a %-d %b %H:%M"       # "Tue 3 Mar 14:05"
NONE = "–"


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _zone(zone: str | tzinfo) -> tzinfo:
    return zones.zone(zone) if isinstance(zone, str) else zone


def local(dt: datetime | None, zone: str | tzinfo, fmt: str = FORMAT) -> str:
    """`dt` as a wall-clock time in `zone`: "Tue 3 Mar 14:05"."""
    if dt is None:
        return NONE
    return _aware(dt).astimezone(_zone(zone)).strftime(fmt)


def ago(dt: datetime | None, now: datetime | None = None) -> str:
    """How long ago `dt` was, roughly: "just now", "12 min ago", "3 h ago", "2 days ago",
    "5 weeks ago"; a future time reads "in 3 h"."""
    if dt is None:
        return NONE
    now = _aware(now) if now is not None else datetime.now(UTC)
    seconds = (now - _aware(dt)).total_seconds()
    minutes = abs(seconds) / 60
    if minutes < 1:
        return "just now"
    if minutes < 60:
        span = f"{int(minutes)} min"
    elif minutes < 48 * 60:
        span = f"{int(minutes // 60)} h"
    elif minutes < 14 * 24 * 60:
        span = f"{int(minutes // (24 * 60))} days"
    else:
        span = f"{int(minutes // (7 * 24 * 60))} weeks"
    return f"{span} ago" if seconds >= 0 else f"in {span}"


_ago = ago   # `when` has a keyword of that name


def iso(dt: datetime) -> str:
    """The machine-readable form for `<time datetime=...>`: ISO 8601 in UTC."""
    return _aware(dt).astimezone(UTC).isoformat(timespec="seconds")


def when(dt: datetime | None, zone: str | tzinfo, fmt: str = FORMAT, *, ago: bool = False,
         now: datetime | None = None) -> Markup:
    """A `<time>` element showing `local(dt, zone, fmt)`, then " (3 h ago)" when `ago`."""
    if dt is None:
        return Markup(NONE)
    relative = f" ({_ago(dt, now)})" if ago else ""
    return Markup('<time datetime="{}">{}</time>{}').format(
        iso(dt), local(dt, zone, fmt), escape(relative))



def register(env: Environment) -> None:
    """Make `local`, `ago`, `when` and `iso` filters of the templates in `env`."""
    env.filters.update(local=local, ago=ago, when=when, iso=iso)
