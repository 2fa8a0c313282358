"""Schema migrations with Alembic, driven from code (`careloop db upgrade`, `careloop run`,
tests). On PostgreSQL the upgrade holds an advisory lock, so that when several copies of
the services start at once against one database, one migrates and the others wait and find
the schema up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from assistant.config import get_settings
from assistant.storage.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x436172654C6F6F70  # "CareLoop": the advisory lock's key


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, engine: Engine | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision`; on `engine` when given (tests), else on `url`."""
    config = alembic_config(url)
    own = engine is None
    engine = engine or make_engine(url or get_settings().db_url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # SQLite alters a table by copying it and dropping the old one; with foreign
                # keys on, that drop would delete the rows referring to it (ON DELETE
                # CASCADE). The pragma only takes effect outside a transaction.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            try:
                with conn.begin():
                    if conn.dialect.name == "postgresql":  # held until this commits
                        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                    config.attributes["connection"] = conn
                    command.upgrade(config, revision)
                    if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise RuntimeError("the migration left rows whose foreign keys "
                                           "point nowhere")
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                    conn.commit()
    finally:
        if own:
            engine.dispose()
