"""advice due: when the advice planner next looks at each patient, so that a tick reads
only the due ones (NULL: at the next tick)

Revision ID: 0014
Revises: 0013
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import assistant.storage.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild the table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("patients", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(sa.Column("advice_due_at",
                                   assistant.storage.db.UTCDateTime(timezone=True),
                                   nullable=True))
    op.create_index("ix_patients_advice_due_at", "patients", ["advice_due_at"])


def downgrade() -> None:
    op.drop_index("ix_patients_advice_due_at", table_name="patients")
    with op.batch_alter_table("patients", table_kwargs=KEEP_IDS) as batch:
        batch.drop_column("advice_due_at")
