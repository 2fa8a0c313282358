"""Where Rasa keeps its conversations (the tracker store): the application database on
PostgreSQL, a file beside it on SQLite (Rasa's SQLAlchemy 1.4 and ours should not share one
SQLite file). The engine's endpoint file and a patient's erasure both read it from here."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from assistant.config import Settings
from assistant.storage.db import make_engine


def tracker_store(settings: Settings) -> dict[str, object]:
    """Rasa's SQL tracker store, as its endpoints.yml names it."""
    url = make_url(settings.rasa_tracker_url or settings.db_url)
    if url.get_backend_name() == "sqlite":
        return {"type": "SQL", "dialect": "sqlite",
                "db": str((settings.data_dir / "rasa_tracker.db").resolve())}
    return {"type": "SQL", "dialect": "postgresql", "url": url.host or "127.0.0.1",
            "port": url.port or 5432, "db": url.database, "username": url.username,
            "password": url.password or ""}


def tracker_engine(settings: Settings) -> Engine | None:
    """An engine on Rasa's tracker store; None while its SQLite file does not exist yet."""
    store = tracker_store(settings)
    if store["dialect"] != "sqlite":
        return make_engine(settings.rasa_tracker_url or settings.db_url)
    path = Path(str(store["db"]))
    return create_engine(f"sqlite:///{path}") if path.is_file() else None
