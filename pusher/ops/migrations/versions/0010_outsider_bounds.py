"""outsider bounds: expiry of parked receipts and link-open limits

Parked receipts get an index on (provider, received_at): the cap counts a provider's
unexpired ones and the retention purge deletes expired ones. Short-link opens become
one counter row per (item, village, day) instead of a row per request (``link_open``
is folded into ``link_open_day``; a link without a village counts under "").

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_pending_receipt_received", "pending_receipt", ["provider", "received_at"], unique=False
    )
    op.create_table(
        "link_open_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "region_code", "day", name="uq_link_open_day"),
    )
    op.create_index("ix_link_open_day_day", "link_open_day", ["day"], unique=False)
    day = "date(at)" if op.get_bind().dialect.name == "sqlite" else "CAST(at AS DATE)"
    op.execute(
        "INSERT INTO link_open_day (item_id, region_code, day, opens) "
        f"SELECT item_id, COALESCE(region_code, ''), {day}, count(*) FROM link_open "
        f"GROUP BY item_id, COALESCE(region_code, ''), {day}"
    )
    op.drop_index("ix_link_open_item_id", table_name="link_open")
    op.drop_table("link_open")


def downgrade() -> None:
    # the per-request rows cannot be restored: each day's count comes back as one row
    op.create_table(
        "link_open",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_link_open_item_id", "link_open", ["item_id"], unique=False)
    op.execute(
        "INSERT INTO link_open (item_id, region_code, at) "
        "SELECT item_id, NULLIF(region_code, ''), day FROM link_open_day"
    )
    op.drop_index("ix_link_open_day_day", table_name="link_open_day")
    op.drop_table("link_open_day")
    op.drop_index("ix_pending_receipt_received", table_name="pending_receipt")
