"""monitoring: personal targets (a team's default and a patient's, per measure), and alerts
that name their measure, direction and evidence, when they were acknowledged and whether the
clinician who resolved them found them useful

Alert kinds stay plain strings: the new ones (trend, forecast, missing_data) need no change.

Revision ID: 0009
Revises: 0008
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import assistant.storage.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild the table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}
LEVELS = ("urgent_low", "warning_low", "warning_high", "urgent_high",
          "urgent_low2", "warning_low2", "warning_high2", "urgent_high2")


def _time(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, assistant.storage.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        *[sa.Column(name, sa.Float(), nullable=True) for name in LEVELS],
        sa.Column("persist_count", sa.Integer(), nullable=False),
        sa.Column("persist_minutes", sa.Integer(), nullable=True),
        sa.Column("expect_every_hours", sa.Float(), nullable=True),
        sa.Column("preset", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        _time("confirmed_at"),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["care_teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["confirmed_by"], ["team_members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_targets_owner", "targets", ["team_id", "patient_id", "measure"])
    with op.batch_alter_table("alerts", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(_time("acknowledged_at"))
        batch.add_column(sa.Column("useful", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=True))
        batch.add_column(sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=8),
                                   nullable=True))
        batch.add_column(_time("evidence_at"))
        batch.add_column(_time("last_finding_at"))


def downgrade() -> None:
    with op.batch_alter_table("alerts", table_kwargs=KEEP_IDS) as batch:
        for name in ("last_finding_at", "evidence_at", "direction", "measure", "useful",
                     "acknowledged_at"):
            batch.drop_column(name)
    op.drop_index("ix_targets_owner", table_name="targets")
    op.drop_table("targets")
