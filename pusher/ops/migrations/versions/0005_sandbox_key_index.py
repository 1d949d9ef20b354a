"""sandbox key index: the sandbox answers "already kept?" for crash recovery

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_sandbox_message_key", "sandbox_message", ["key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sandbox_message_key", table_name="sandbox_message")
