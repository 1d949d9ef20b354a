"""town setup: regions, topics, groups and group chats kept by the office (issue 19)

``region.active/inactive_reason`` (a region with residents or history is deactivated,
never deleted) and ``region.updated_at`` (a rename reaches the rulebook's fingerprint);
``topic.active/keywords/position`` (the office's own topics, their order for residents);
``push_group.active`` and ``group_chat.active``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime
_TRUE = sa.true()


def upgrade() -> None:
    op.add_column("region", sa.Column("active", sa.Boolean(), nullable=False, server_default=_TRUE))
    op.add_column("region", sa.Column("inactive_reason", _STR(length=200), nullable=True))
    op.add_column("region", sa.Column("updated_at", _TIME(), nullable=True))
    op.add_column("topic", sa.Column("active", sa.Boolean(), nullable=False, server_default=_TRUE))
    op.add_column("topic", sa.Column("keywords", sa.JSON(), nullable=True))
    op.add_column("topic", sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "push_group", sa.Column("active", sa.Boolean(), nullable=False, server_default=_TRUE)
    )
    op.add_column(
        "group_chat", sa.Column("active", sa.Boolean(), nullable=False, server_default=_TRUE)
    )


def downgrade() -> None:
    with op.batch_alter_table("group_chat") as batch:
        batch.drop_column("active")
    with op.batch_alter_table("push_group") as batch:
        batch.drop_column("active")
    with op.batch_alter_table("topic") as batch:
        batch.drop_column("position")
        batch.drop_column("keywords")
        batch.drop_column("active")
    with op.batch_alter_table("region") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("inactive_reason")
        batch.drop_column("active")
