"""delivery ranges: planned rows maintain only the (push, resident) index

A planned resident row used to enter four indexes. Now:

- ``next_attempt_at`` is NULL on a fresh planned row, and the claim index is
  partial (``next_attempt_at IS NOT NULL``): fresh rows are claimed in resident
  order through ``delivery_range``, one row per planning chunk and channel.
- The region index becomes partial to deliveries that missed, the only region
  filter that does not come with a push (the grid workers' follow-up).

Rows that exist keep their time, so they are claimed through the claim index as
before; no range is needed for them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMED = sa.text("next_attempt_at IS NOT NULL")
MISSED = sa.text("status IN ('failed', 'unreachable')")
CLAIM_COLUMNS = ["push_id", "channel", "status", "next_attempt_at"]


def upgrade() -> None:
    op.create_table(
        "delivery_range",
        sa.Column("push_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("after_id", sa.Integer(), nullable=False),
        sa.Column("upto_id", sa.Integer(), nullable=False),
        sa.Column("claimed_upto", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("push_id", "channel", "after_id"),
    )
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_index("ix_delivery_claim")
        batch_op.drop_index("ix_delivery_region_id")
        batch_op.alter_column("next_attempt_at", existing_type=sa.DateTime(), nullable=True)
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.create_index(
            "ix_delivery_claim", CLAIM_COLUMNS, postgresql_where=TIMED, sqlite_where=TIMED
        )
        batch_op.create_index(
            "ix_delivery_missed", ["region_id"], postgresql_where=MISSED, sqlite_where=MISSED
        )


def downgrade() -> None:
    op.execute(
        "UPDATE delivery SET next_attempt_at = created_at WHERE next_attempt_at IS NULL"
    )
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_index("ix_delivery_missed")
        batch_op.drop_index("ix_delivery_claim")
        batch_op.alter_column("next_attempt_at", existing_type=sa.DateTime(), nullable=False)
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.create_index("ix_delivery_claim", CLAIM_COLUMNS)
        batch_op.create_index("ix_delivery_region_id", ["region_id"])
    op.drop_table("delivery_range")
