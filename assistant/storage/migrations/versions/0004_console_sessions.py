"""server-side console sessions; enrolment attempts counted across all chats

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assistant.storage.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(),
                  sa.ForeignKey("team_members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_console_sessions_member_id", "console_sessions", ["member_id"])
    op.create_index("ix_enrolment_attempts_at", "enrolment_attempts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_enrolment_attempts_at", "enrolment_attempts")
    op.drop_index("ix_console_sessions_member_id", "console_sessions")
    op.drop_table("console_sessions")
