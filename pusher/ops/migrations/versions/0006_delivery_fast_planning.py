"""delivery for fast planning: no foreign keys, partial chat and provider-id indexes

Planning writes one delivery row per resident with ``INSERT … SELECT`` from
rows that exist. Each foreign key cost a per-row trigger check (PostgreSQL) or
parent lookup (SQLite) on every planned row, and the (push, group chat) unique
index and the provider-id index were maintained for rows where both are NULL.
Pushes, residents, regions and group chats are never deleted (residents are
forgotten by blanking), so the keys guarded nothing the code can break.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column, referred table): the foreign keys of 0001
FOREIGN_KEYS = (
    ("push_id", "push"),
    ("resident_id", "resident"),
    ("group_chat_id", "group_chat"),
    ("region_id", "region"),
)
# SQLite keeps 0001's keys unnamed; batch mode names reflected ones with this
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
CHAT_WHERE = sa.text("group_chat_id IS NOT NULL")
PROVIDER_WHERE = sa.text("provider_id IS NOT NULL")


def _fk_name(column: str, referred: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"delivery_{column}_fkey"
    return f"fk_delivery_{column}_{referred}"


def upgrade() -> None:
    with op.batch_alter_table("delivery", naming_convention=NAMING) as batch_op:
        for column, referred in FOREIGN_KEYS:
            batch_op.drop_constraint(_fk_name(column, referred), type_="foreignkey")
        batch_op.drop_constraint("uq_delivery_push_chat", type_="unique")
        batch_op.drop_index("ix_delivery_provider")
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.create_index(
            "uq_delivery_push_chat",
            ["push_id", "group_chat_id"],
            unique=True,
            postgresql_where=CHAT_WHERE,
            sqlite_where=CHAT_WHERE,
        )
        batch_op.create_index(
            "ix_delivery_provider",
            ["provider_id"],
            postgresql_where=PROVIDER_WHERE,
            sqlite_where=PROVIDER_WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_index("ix_delivery_provider")
        batch_op.drop_index("uq_delivery_push_chat")
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.create_index("ix_delivery_provider", ["provider_id"])
        batch_op.create_unique_constraint("uq_delivery_push_chat", ["push_id", "group_chat_id"])
        for column, referred in FOREIGN_KEYS:
            batch_op.create_foreign_key(_fk_name(column, referred), referred, [column], ["id"])
