"""generic, safe lifestyle advice used when a care team wrote none that fits

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from assistant.storage.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEMS = [
    ("A short walk", "A 10-minute walk after a meal is good for most people. "
     "Ask your care team what activity suits you."),
    ("Drink water", "Keep a glass of water nearby and sip through the day, unless your care "
     "team has asked you to limit fluids."),
    ("Same time every day", "Taking your medicines at the same times each day makes them "
     "easier to remember. Linking them to a daily habit, like breakfast, helps."),
    ("Sleep", "A regular bedtime and a dark, quiet room help most people sleep better."),
    ("Vegetables first", "Filling half your plate with vegetables is a simple way to eat well."),
    ("Questions welcome", "If something about your medicines worries you, write it here: "
     "I will pass your question to your care team."),
]

advice = sa.table("advice_items", sa.column("team_id", sa.Integer), sa.column("title", sa.String),
                  sa.column("body", sa.String), sa.column("tags", sa.JSON),
                  sa.column("active", sa.Boolean), sa.column("created_at", UTCDateTime))


def upgrade() -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    op.bulk_insert(advice, [{"team_id": None, "title": title, "body": body, "tags": [],
                             "active": True, "created_at": now} for title, body in ITEMS])


def downgrade() -> None:
    op.execute(advice.delete().where(advice.c.team_id.is_(None)))
