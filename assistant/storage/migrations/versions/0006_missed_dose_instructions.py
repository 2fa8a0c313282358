"""what the care team says to do when a dose is missed, per medication

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild the table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("medications", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(sa.Column("missed_dose_instructions", sa.String(500), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("medications", table_kwargs=KEEP_IDS) as batch:
        batch.drop_column("missed_dose_instructions")
