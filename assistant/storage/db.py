"""The one way to reach the database: an engine per URL and `session()` for a unit of work.

SQLite gets foreign keys, WAL and a busy timeout; PostgreSQL a lock timeout of the same
length. Errors never carry the statement's parameters (they end up in logs). Every
datetime goes in and comes out as aware UTC, whatever the backend keeps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from assistant.config import get_settings, private_dir
from assistant.errors import NotFound

Row = TypeVar("Row")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, busy_ms: int) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _private_file(path: Path) -> None:
    """The SQLite file made readable by this user only before SQLite first opens it (its
    -wal and -shm files take the same mode), in a private folder when that is new."""
    private_dir(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_engine(url: str, *, busy_timeout: float | None = None) -> Engine:
    """An engine for `url`. A statement waits at most `busy_timeout` seconds (the
    setting by default) for a lock that another connection holds, then fails."""
    busy_ms = round(1000 * (busy_timeout or get_settings().db_busy_timeout_seconds))
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(url, hide_parameters=True, connect_args={
            "check_same_thread": False, "timeout": busy_ms / 1000})
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=busy_ms))
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, hide_parameters=True, pool_pre_ping=True, pool_size=5,
                         max_overflow=10, connect_args={"options": f"-c lock_timeout={busy_ms}"})


@cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return _engine_for(get_settings().db_url)


@contextmanager
def session(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work: commits when the block ends cleanly, rolls back otherwise."""
    with Session(engine or get_engine(), expire_on_commit=False) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


def get_row(db: Session, table: type[Row], row_id: int, what: str) -> Row:
    """The row of `table` with this id; `NotFound` ("no WHAT ID") when there is none."""
    row = db.get(table, row_id)
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    return row


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def engine_of(db: Session) -> Engine:
    bind = db.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def insert_or_ignore(db: Session, table: Any) -> Any:
    """An INSERT into `table` that skips rows clashing with a unique key ("ON CONFLICT DO
    NOTHING"), in the session's dialect: SQLite or PostgreSQL."""
    dialect = postgresql if is_postgres(engine_of(db)) else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


# SQLite: SQLITE_BUSY, SQLITE_LOCKED. PostgreSQL: lock not available (lock_timeout), query
# cancelled (statement_timeout), deadlock, and the server shutting down or starting up.
_SQLITE_BUSY = {5, 6}
_PG_BUSY = {"55P03", "57014", "40P01", "57P01", "57P02", "57P03"}


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database is busy or out of reach for now (a lock held too
    long, a timeout, a lost connection): worth trying again later, not a bug."""
    if isinstance(exc, sa_exc.TimeoutError):  # no free connection in the pool
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_BUSY
    state = getattr(exc.orig, "sqlstate", None)
    if state is None:  # psycopg could not connect at all
        return isinstance(exc, sa_exc.OperationalError)
    return state in _PG_BUSY or state.startswith("08")


@contextmanager
def brief_write(engine: Engine, *, wait_seconds: float) -> Iterator[Connection]:
    """A transaction on a connection of its own that waits at most `wait_seconds` for a
    lock (instead of the busy timeout): for small writes that must not hold up a request.
    Commits when the block ends cleanly; `is_unavailable` tells a busy database apart."""
    wait_ms = max(1, round(wait_seconds * 1000))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            usual = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            conn.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
            conn.commit()
        try:
            with conn.begin():
                if not sqlite:
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                yield conn
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={usual}")
                conn.commit()
