"""users: leader role, duty officer flag, session version (two-person review, revocable sessions)

The leader role needs no schema change (``role`` is a string). ``duty_officer`` marks who
may approve urgent warnings in one step; ``session_version`` is carried in console cookies
and bumped on logout and password changes, which ends every session of that user.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("duty_officer", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("session_version")
        batch_op.drop_column("duty_officer")
