"""ward: a second identifier for patients (date of birth, an optional record number unique
in the team), why and by whom a medicine was stopped, a team's default time zone, each
alert's history, and the indexes a ward of thousands of patients reads by

Revision ID: 0013
Revises: 0012
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import assistant.storage.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild the table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}


def _text(name: str, length: int) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("patients", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch.add_column(_text("record_number", 32))
    op.create_index("uq_patients_team_record", "patients", ["team_id", "record_number"],
                    unique=True, sqlite_where=sa.text("record_number IS NOT NULL"),
                    postgresql_where=sa.text("record_number IS NOT NULL"))
    with op.batch_alter_table("medications", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(_text("stop_reason", 500))
        batch.add_column(_text("stopped_by", 120))
    with op.batch_alter_table("care_teams", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=False, server_default="UTC"))
    with op.batch_alter_table("care_teams", table_kwargs=KEEP_IDS) as batch:
        batch.alter_column("timezone", server_default=None)
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        _text("note", 2000),
        sa.Column("at", assistant.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])
    op.create_index("ix_alerts_team_status", "alerts", ["team_id", "status"])
    op.create_index("ix_dose_occurrences_patient_due", "dose_occurrences",
                    ["patient_id", "due_at"])
    op.create_index("ix_readings_patient_taken", "readings", ["patient_id", "taken_at"])


def downgrade() -> None:
    op.drop_index("ix_readings_patient_taken", table_name="readings")
    op.drop_index("ix_dose_occurrences_patient_due", table_name="dose_occurrences")
    op.drop_index("ix_alerts_team_status", table_name="alerts")
    op.drop_index("ix_alert_events_alert_id", table_name="alert_events")
    op.drop_table("alert_events")
    with op.batch_alter_table("care_teams", table_kwargs=KEEP_IDS) as batch:
        batch.drop_column("timezone")
    with op.batch_alter_table("medications", table_kwargs=KEEP_IDS) as batch:
        batch.drop_column("stopped_by")
        batch.drop_column("stop_reason")
    op.drop_index("uq_patients_team_record", table_name="patients")
    with op.batch_alter_table("patients", table_kwargs=KEEP_IDS) as batch:
        batch.drop_column("record_number")
        batch.drop_column("birth_date")
