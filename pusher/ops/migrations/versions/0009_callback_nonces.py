"""callback nonces: WeChat callback nonces already seen (replay refusal in embedded mode)

Production keeps them in Redis with an expiry; embedded mode (no Redis) keeps them
here and deletes the ones older than twice the accepted clock skew.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_nonce",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_callback_nonce_seen_at", "callback_nonce", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_callback_nonce_seen_at", table_name="callback_nonce")
    op.drop_table("callback_nonce")
