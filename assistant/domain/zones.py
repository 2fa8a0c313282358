"""Time zones: reading any zone tzdata knows (`zone`: old rows may hold an old alias), and
choosing one for a patient now (`place_zone`: a place's zone as `zone_choices` lists
them, or UTC; never an old alias or a fixed offset). A refusal is an `InvalidSchedule`
on `timezone` saying what to use instead."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from assistant.errors import InvalidSchedule

# Keys tzdata ships that are not places: they would silently follow the host or nothing.
_NOT_A_PLACE = {"localtime", "posixrules", "Factory"}


def zone(tz_name: str) -> ZoneInfo:
    """The IANA time zone called `tz_name` (e.g. "Europe/Berlin")."""
    if tz_name not in _NOT_A_PLACE:
        try:
            return ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass  # not found, not a valid key, or a folder such as "Europe"
    hint = _zone_spelling().get(str(tz_name).strip().lower())
    if hint is not None and hint != tz_name:
        raise InvalidSchedule(f"unknown time zone {tz_name!r}: did you mean {hint!r}?",
                              field="timezone")
    raise InvalidSchedule(
        f"unknown time zone {tz_name!r}: use an IANA name such as Europe/Berlin "
        "or America/New_York", field="timezone")


@lru_cache(maxsize=1)
def _zone_spelling() -> dict[str, str]:
    """Lower-cased zone name -> its proper spelling (only read when a name is wrong)."""
    return {name.lower(): name for name in available_timezones() - _NOT_A_PLACE}


def place_zone(tz_name: str) -> ZoneInfo:
    """The zone someone chooses now for a patient: a place's zone, or UTC.

    Old aliases ("GB", "US/Eastern", "Asia/Calcutta") and names that are no place (fixed
    offsets such as "GMT" or "Etc/GMT+1", rule names such as "EST5EDT") are refused: GMT
    for a patient in the UK is an hour off all summer. The message names the place's
    zone when tzdata knows it.
    """
    tz = zone(tz_name)
    if tz_name in _places():
        return tz
    target = _links().get(tz_name, tz_name)
    if target in _places():
        raise InvalidSchedule(f"{tz_name!r} is an old name: did you mean {target!r}?",
                              field="timezone")
    if target == "Etc/UTC":
        raise InvalidSchedule(f"{tz_name!r} is an old name: did you mean 'UTC'?", field="timezone")
    if target == "Etc/GMT":
        raise InvalidSchedule(f"{tz_name!r} never changes for summer time: did you mean "
                              "'Europe/London' (UK time) or 'UTC'?", field="timezone")
    raise InvalidSchedule(
        f"{tz_name!r} is not a place's time zone: choose where the patient lives, "
        "e.g. Europe/Berlin or America/New_York (or UTC)", field="timezone")


def zone_choices(*, first: str | None = None) -> list[str]:
    """The zones to offer when someone picks one: every place's zone (one or more per
    country, as tzselect offers them) and UTC, sorted, with `first` (a default) first."""
    names = sorted(_places())
    if first in _places():
        names.remove(first)
        names.insert(0, first)
    return names


@lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    # zone.tab lists the zones of places by country, with their usual names (also
    # Europe/Amsterdam, a link since 2022); tzdata.zi's own zones would miss those.
    text = _tzdata_file("zone.tab")
    found = {line.split("\t")[2] for line in text.splitlines()
             if line.strip() and not line.startswith("#")}
    return frozenset({"UTC"} | (found & available_timezones()))


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    """Old name -> the zone it is a link to ("GB" -> "Europe/London")."""
    return {parts[2]: parts[1] for line in _tzdata_file("tzdata.zi").splitlines()
            if (parts := line.split()) and parts[0] == "L" and len(parts) == 3}


def _tzdata_file(name: str) -> str:
    # The tzdata package is a dependency, so its tables are there whatever the system has.
    return files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
