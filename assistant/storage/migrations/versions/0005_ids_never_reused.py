"""ids are never reused, and each audit entry names the team that may read it

SQLite gives a deleted row's id to the next row unless the table is AUTOINCREMENT: an
erased patient's id went to the next patient, with the erased one's audit entries. Every
table is rebuilt as AUTOINCREMENT, keeping its rows, keys, constraints and indexes, and
the patients' counter starts above every patient id the audit log has seen.
(PostgreSQL's sequences never go back: there, only the audit log changes.)

`audit_log.team_id`: the acting member's team, else the team of the patient the entry is
about, but only if that patient existed at the time (an older entry with the same id is
an erased patient's).

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables of revision 0003, parents before children.
TABLES = ("care_teams", "team_members", "api_tokens", "login_attempts", "patients",
          "chat_links", "enrolment_codes", "enrolment_attempts", "medications",
          "dose_schedules", "dose_occurrences", "outbox", "readings", "alerts", "advice_items",
          "advice_deliveries", "audit_log")


def _rebuild_sqlite_tables() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Rebuilding drops each old table: with foreign keys on, SQLite would first delete
        # its rows and cascade the delete to every table that refers to it.
        raise RuntimeError("run this migration with PRAGMA foreign_keys=OFF "
                           "(`careloop db upgrade` does)")
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}):
            pass
    # An erased patient left only audit entries: their id must not be given again either.
    conn.exec_driver_sql(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'patients', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'patients')")
    conn.exec_driver_sql(
        "UPDATE sqlite_sequence SET seq = max(seq, "
        "(SELECT coalesce(max(patient_id), 0) FROM audit_log)) WHERE name = 'patients'")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_tables()
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.create_index("ix_audit_log_team_id", ["team_id"])
    op.execute(
        "UPDATE audit_log SET team_id = (SELECT m.team_id FROM team_members m "
        "WHERE audit_log.actor = 'member:' || m.id) WHERE actor LIKE 'member:%'")
    op.execute(
        "UPDATE audit_log SET team_id = (SELECT p.team_id FROM patients p "
        "WHERE p.id = audit_log.patient_id AND p.created_at <= audit_log.at) "
        "WHERE team_id IS NULL AND patient_id IS NOT NULL")


def downgrade() -> None:
    # The tables stay AUTOINCREMENT: revision 0003's code works the same with it.
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_team_id")
        batch.drop_column("team_id")
