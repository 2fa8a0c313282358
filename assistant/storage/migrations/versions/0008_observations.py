"""readings become observations: a LOINC code, when they were received, their device and
identifier, and stored once (unique per patient by identifier, or by device + code +
effective time)

`taken_at` stays the effective time. Rows already there get their kind's LOINC code
(heart rate keeps its kind name `pulse`) and `received_at = taken_at`; they have no device
and no identifier, so they never collide.

Revision ID: 0008
Revises: 0007
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import assistant.storage.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild the table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}
# The kinds of revision 0007 and their LOINC codes (as in assistant/domain/measures.py).
CODES = {"blood_pressure": "85354-9", "glucose": "15074-8", "weight": "29463-7",
         "pulse": "8867-4", "temperature": "8310-5"}


def upgrade() -> None:
    with op.batch_alter_table("readings", table_kwargs=KEEP_IDS) as batch:
        batch.add_column(sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=16),
                                   nullable=True))
        batch.add_column(sa.Column("received_at",
                                   assistant.storage.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=120),
                                   nullable=True))
        batch.add_column(sa.Column("identifier",
                                   sqlmodel.sql.sqltypes.AutoString(length=255),
                                   nullable=True))
    readings = sa.table("readings", sa.column("kind", sa.String), sa.column("code", sa.String))
    for kind, code in CODES.items():
        op.execute(readings.update().where(readings.c.kind == kind).values(code=code))
    op.execute("UPDATE readings SET code = '' WHERE code IS NULL")
    op.execute("UPDATE readings SET received_at = taken_at")
    with op.batch_alter_table("readings", table_kwargs=KEEP_IDS) as batch:
        batch.alter_column("code", existing_type=sqlmodel.sql.sqltypes.AutoString(length=16),
                           nullable=False)
        batch.alter_column("received_at",
                           existing_type=assistant.storage.db.UTCDateTime(timezone=True),
                           nullable=False)
        batch.create_index("uq_readings_identifier", ["patient_id", "identifier"],
                           unique=True)
        batch.create_index("uq_readings_device_time",
                           ["patient_id", "device", "code", "taken_at"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("readings", table_kwargs=KEEP_IDS) as batch:
        batch.drop_index("uq_readings_device_time")
        batch.drop_index("uq_readings_identifier")
        batch.drop_column("identifier")
        batch.drop_column("device")
        batch.drop_column("received_at")
        batch.drop_column("code")
