"""delivery log: a partial index of cancelled deliveries (issue 17)

The delivery log's status filter ``cancelled`` read the whole table when no row matched
(a million rows: about half a second). Planned rows are never cancelled, so planning
does not maintain it; a stop or an opt-out writes its entries.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANCELLED = sa.text("status = 'cancelled'")


def upgrade() -> None:
    op.create_index(
        "ix_delivery_cancelled",
        "delivery",
        ["id"],
        postgresql_where=CANCELLED,
        sqlite_where=CANCELLED,
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_cancelled", table_name="delivery")
