"""Alembic's migrations of the schema (`versions/`), run by `storage/migrate.py`."""
