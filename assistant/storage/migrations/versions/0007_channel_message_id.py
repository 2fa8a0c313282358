"""the outbox keeps any channel's id of a sent message: telegram_message_id becomes
channel_message_id (its values kept)

Revision ID: 0007
Revises: 0006
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild the table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("outbox", table_kwargs=KEEP_IDS) as batch:
        batch.alter_column("telegram_message_id", new_column_name="channel_message_id")


def downgrade() -> None:
    with op.batch_alter_table("outbox", table_kwargs=KEEP_IDS) as batch:
        batch.alter_column("channel_message_id", new_column_name="telegram_message_id")
