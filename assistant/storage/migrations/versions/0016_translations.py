"""translations: advice items and medication labels hold a text per language beside the
English one; the generic advice gets its Spanish

Revision ID: 0016
Revises: 0015
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Should SQLite rebuild a table, it stays AUTOINCREMENT (revision 0005).
KEEP_IDS = {"sqlite_autoincrement": True}
TABLES = ("advice_items", "medications")

# The generic items of revision 0002, by their English title.
SPANISH = {
    "A short walk": ("Un paseo corto", "Un paseo de 10 minutos después de comer le sienta bien "
                     "a la mayoría de las personas. Pregunte a su equipo de atención qué "
                     "actividad le conviene."),
    "Drink water": ("Beba agua", "Tenga un vaso de agua cerca y beba a sorbos durante el día, "
                    "salvo que su equipo de atención le haya pedido limitar los líquidos."),
    "Same time every day": ("A la misma hora cada día", "Tomar sus medicamentos a las mismas "
                            "horas cada día hace que sea más fácil recordarlos. Unirlos a un "
                            "hábito diario, como el desayuno, ayuda."),
    "Sleep": ("El sueño", "Acostarse a una hora fija y dormir en una habitación oscura y "
              "tranquila ayuda a la mayoría de las personas a dormir mejor."),
    "Vegetables first": ("Primero, verduras", "Llenar la mitad del plato con verduras es una "
                         "forma sencilla de comer bien."),
    "Questions welcome": ("Pregunte sin miedo", "Si algo de sus medicamentos le preocupa, "
                          "escríbalo aquí: pasaré su pregunta a su equipo de atención."),
}

advice = sa.table("advice_items", sa.column("team_id", sa.Integer),
                  sa.column("title", sa.String), sa.column("translations", sa.JSON))


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, table_kwargs=KEEP_IDS) as batch:
            batch.add_column(sa.Column("translations", sa.JSON(), nullable=False,
                                       server_default=sa.text("'{}'")))
    for english, (title, body) in SPANISH.items():
        op.execute(advice.update()
                   .where(advice.c.team_id.is_(None), advice.c.title == english)
                   .values(translations={"es": {"title": title, "body": body}}))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, table_kwargs=KEEP_IDS) as batch:
            batch.drop_column("translations")
