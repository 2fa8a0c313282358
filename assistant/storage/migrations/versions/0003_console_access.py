"""console and API access: API tokens, login attempts, reading thresholds per team,
and how far patients may move a dose time themselves

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assistant.storage.db import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(),
                  sa.ForeignKey("team_members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_api_tokens_member_id", "api_tokens", ["member_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_login_attempts_key", "login_attempts", ["key"])
    with op.batch_alter_table("care_teams") as batch:
        batch.add_column(sa.Column("reading_thresholds", sa.JSON(), nullable=False,
                                   server_default="{}"))
        batch.add_column(sa.Column("self_shift_minutes", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("care_teams") as batch:
        batch.drop_column("self_shift_minutes")
        batch.drop_column("reading_thresholds")
    op.drop_index("ix_login_attempts_key", "login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_api_tokens_member_id", "api_tokens")
    op.drop_table("api_tokens")
