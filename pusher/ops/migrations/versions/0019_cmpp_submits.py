"""cmpp submits: what was in flight survives a killed worker and a restarted Redis

``cmpp_submit`` keeps each CMPP message's number, submit time and (once answered) its
Msg_Ids, written before the SUBMIT goes out (one row per delivery, deleted with it);
``pending_receipt.recipient`` keeps the number of a parked CMPP report, so a message of
unknown outcome can be settled by a report heard on another worker's link.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "cmpp_submit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", _STR(length=32), nullable=False),
        sa.Column("submitted_at", _TIME(), nullable=False),
        sa.Column("msg_ids", _STR(length=512), nullable=True),
        sa.ForeignKeyConstraint(["id"], ["delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cmpp_submit_phone", "cmpp_submit", ["phone", "submitted_at"])
    # plain ADD COLUMN (nullable): no table copy on SQLite
    op.add_column("pending_receipt", sa.Column("recipient", _STR(length=32), nullable=True))
    op.create_index(
        "ix_pending_receipt_recipient",
        "pending_receipt",
        ["provider", "recipient", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_pending_receipt_recipient", table_name="pending_receipt")
    with op.batch_alter_table("pending_receipt") as batch:
        batch.drop_column("recipient")
    op.drop_index("ix_cmpp_submit_phone", table_name="cmpp_submit")
    op.drop_table("cmpp_submit")
