"""The column kinds the tables share: UTC times, creation times, JSON and enum strings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field

from assistant.storage.db import UTCDateTime, utcnow


def utc_time(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def created_time() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def json_field(factory: Any) -> Any:
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


def enum_field(default: Any) -> Any:
    # Plain strings in the database: no native enum types to migrate.
    return Field(default=default, sa_type=String(16), nullable=False)
