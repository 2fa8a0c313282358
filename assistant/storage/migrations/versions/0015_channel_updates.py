"""channel updates: the ids of the updates a webhook received, claimed by the bridge that
handles each, so that several bridges and Telegram's retries handle an update once

Revision ID: 0015
Revises: 0014
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import assistant.storage.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = assistant.storage.db.UTCDateTime(timezone=True)
    op.create_table(
        "channel_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("leased_until", utc, nullable=False),
        sa.Column("done_at", utc, nullable=True),
        sa.Column("received_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "update_id", name="uq_channel_updates"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_channel_updates_received_at", "channel_updates", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_channel_updates_received_at", table_name="channel_updates")
    op.drop_table("channel_updates")
