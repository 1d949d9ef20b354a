"""item lifecycle: stop a push, withdraw (撤回) and expire (失效) an item (issue 23)

``push.stopped_at/stopped_by/stop_reason`` record a stopped push (its waiting
deliveries become ``cancelled``, a status value needing no schema change);
``item.withdrawn_at/withdraw_reason`` a withdrawn item; ``item.expires_at`` the
end of an item's validity.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no table copy on SQLite
    op.add_column("push", sa.Column("stopped_at", _TIME(), nullable=True))
    op.add_column("push", sa.Column("stopped_by", _STR(length=64), nullable=True))
    op.add_column("push", sa.Column("stop_reason", _STR(length=200), nullable=True))
    op.add_column("item", sa.Column("withdrawn_at", _TIME(), nullable=True))
    op.add_column("item", sa.Column("withdraw_reason", _STR(length=200), nullable=True))
    op.add_column("item", sa.Column("expires_at", _TIME(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("withdraw_reason")
        batch.drop_column("withdrawn_at")
    with op.batch_alter_table("push") as batch:
        batch.drop_column("stop_reason")
        batch.drop_column("stopped_by")
        batch.drop_column("stopped_at")
