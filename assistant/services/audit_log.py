"""Reading a team's audit log as an admin does: entries filtered (member, patient, action,
a span of days in the team's time zone), newest first, a page at a time in SQL, with the
members' names instead of "member:3", and the whole filtered set for a CSV download
(cells a spreadsheet would run as a formula made inert)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from assistant.services import audit
from assistant.storage.models import AuditEntry, Patient, TeamMember

PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's "CSV
# injection"); a leading apostrophe makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asked for; None: any."""

    member_id: int | None = None
    patient_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive: the whole day

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.member_id, self.patient_id, self.action,
                                           self.date_from, self.date_to))


@dataclass(frozen=True)
class Row:
    """An entry as the page shows it: who by name, when in the team's zone, and the
    patient (None when erased: entries outlive their patient)."""

    entry: AuditEntry
    who: str
    at_local: datetime
    patient: Patient | None = None


@dataclass(frozen=True)
class AuditPage:
    rows: list[Row]
    total: int
    page: int
    pages: int


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _query(team_id: int, wanted: AuditFilter, zone: ZoneInfo) -> SelectOfScalar[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.team_id == team_id)
    if wanted.member_id is not None:
        query = query.where(AuditEntry.actor == f"member:{wanted.member_id}")
    if wanted.patient_id is not None:
        query = query.where(AuditEntry.patient_id == wanted.patient_id)
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.date_from is not None:
        query = query.where(col(AuditEntry.at) >= _start_of(wanted.date_from, zone))
    if wanted.date_to is not None:
        query = query.where(col(AuditEntry.at) < _start_of(wanted.date_to + timedelta(days=1),
                                                           zone))
    return query


def _rows(db: Session, entries: Sequence[AuditEntry], zone: ZoneInfo) -> list[Row]:
    names = audit.member_names(db, {e.actor for e in entries})
    ids = {e.patient_id for e in entries if e.patient_id is not None}
    teams = {e.team_id for e in entries}   # the team's own patients only
    patients = {p.id: p for p in db.exec(select(Patient).where(
        col(Patient.id).in_(ids), col(Patient.team_id).in_(teams)))}
    return [Row(e, names.get(e.actor, e.actor), e.at.astimezone(zone),
                patients.get(e.patient_id) if e.patient_id is not None else None)
            for e in entries]


def page_of(db: Session, team_id: int, wanted: AuditFilter, *, page: int = 1,
            zone: str = "UTC", size: int = PAGE_SIZE) -> AuditPage:
    """One page of the team's filtered log, newest first (LIMIT/OFFSET in SQL)."""
    tz = ZoneInfo(zone)
    query = _query(team_id, wanted, tz)
    total = db.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    found = db.exec(query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
                    .offset((page - 1) * size).limit(size)).all()
    return AuditPage(_rows(db, found, tz), total, page, pages)


def actions(db: Session, team_id: int) -> list[str]:
    """The kinds of entry the team's log holds, for the filter's choices."""
    return sorted(db.exec(select(AuditEntry.action).where(AuditEntry.team_id == team_id)
                          .distinct()).all())


def members(db: Session, team_id: int) -> list[TeamMember]:
    """Every member of the team, deactivated ones too (they did what the log says)."""
    return list(db.exec(select(TeamMember).where(TeamMember.team_id == team_id)
                        .order_by(col(TeamMember.name))).all())


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(db: Session, team_id: int, wanted: AuditFilter, *,
             zone: str = "UTC") -> Iterator[list[str]]:
    """The filtered log for a download, newest first: a header, then one list per entry."""
    tz = ZoneInfo(zone)
    yield ["at (UTC)", f"at ({zone})", "member id or actor", "who", "action", "patient id",
           "detail"]
    found = db.exec(_query(team_id, wanted, tz).order_by(
        col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(CSV_MAX_ROWS)).all()
    for row in _rows(db, found, tz):
        e = row.entry
        yield [safe_cell(v) for v in (
            e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            row.at_local.strftime("%Y-%m-%d %H:%M:%S"), e.actor, row.who, e.action,
            e.patient_id if e.patient_id is not None else "", e.detail)]
