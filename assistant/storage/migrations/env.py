"""Alembic environment: migrates the database named by the settings (or the caller's URL)."""

from alembic import context
from sqlmodel import SQLModel

from assistant.config import get_settings
from assistant.storage import models  # noqa: F401  (registers the tables
from assistant.storage.db import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().db_url
connection = config.attributes.get("connection")


def run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
