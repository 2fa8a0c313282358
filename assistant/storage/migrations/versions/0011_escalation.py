"""escalation: a team's escalation minutes and on-call list, members' linked chats (and the
one-time codes that link them), the steps of each alert's escalation, and outbox messages
addressed to a member

Revision ID: 0011
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import assistant.storage.db

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild the table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}


def _time(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, assistant.storage.db.UTCDateTime(timezone=True), nullable=nullable)


def _member(ondelete: str = "CASCADE") -> list[sa.schema.SchemaItem]:
    return [sa.Column("member_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["member_id"], ["team_members.id"], ondelete=ondelete)]


def upgrade() -> None:
    with op.batch_alter_table("care_teams", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(sa.Column("escalate_after_minutes", sa.Integer(), nullable=False,
                                   server_default="15"))
        batch.add_column(sa.Column("on_call", sa.JSON(), nullable=False,
                                   server_default="[]"))
    with op.batch_alter_table("care_teams", table_kwargs=KEEP_IDS) as batch:
        batch.alter_column("escalate_after_minutes", server_default=None)
        batch.alter_column("on_call", server_default=None)
    op.create_table(
        "member_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        *_member(),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        _time("linked_at", nullable=False),
        _time("unlinked_at"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_member_chats_member_id", "member_chats", ["member_id"])
    op.create_index("uq_member_chats_active_chat", "member_chats", ["channel", "chat_id"],
                    unique=True, sqlite_where=sa.text("unlinked_at IS NULL"),
                    postgresql_where=sa.text("unlinked_at IS NULL"))
    op.create_table(
        "member_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        *_member(),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        _time("expires_at", nullable=False),
        _time("used_at"),
        _time("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_member_codes_member_id", "member_codes", ["member_id"])
    op.create_table(
        "alert_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        *_member(),
        _time("at", nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "member_id", name="uq_alert_escalations"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_escalations_alert_id", "alert_escalations", ["alert_id"])
    with op.batch_alter_table("outbox", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
        batch.create_index("ix_outbox_member_id", ["member_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", table_kwargs=KEEP_IDS) as batch:
        batch.drop_index("ix_outbox_member_id")
        batch.drop_column("member_id")
    op.drop_index("ix_alert_escalations_alert_id", table_name="alert_escalations")
    op.drop_table("alert_escalations")
    op.drop_index("ix_member_codes_member_id", table_name="member_codes")
    op.drop_table("member_codes")
    op.drop_index("uq_member_chats_active_chat", table_name="member_chats")
    op.drop_index("ix_member_chats_member_id", table_name="member_chats")
    op.drop_table("member_chats")
    with op.batch_alter_table("care_teams", table_kwargs=KEEP_IDS) as batch:
        batch.drop_column("on_call")
        batch.drop_column("escalate_after_minutes")
