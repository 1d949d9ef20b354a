"""rosters as offices keep them (issue 19): stable keys, moved out, shared phone numbers

``resident.stable_key`` is the office's own key for a person (身份证后四位, 户号) that a
re-uploaded roster is matched on; ``resident.moved_out_at`` marks a resident confirmed as
moved out (迁出) or deactivated, who is kept for history and never pushed to.
``delivery.covered_by`` links a delivery to the one SMS that reached its resident's
shared number, and ``number_send`` says which delivery sends that SMS for a push.
``roster_draft`` keeps an uploaded roster between its report and the grid worker's choice.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no table copy on SQLite
    op.add_column("resident", sa.Column("stable_key", _STR(length=64), nullable=True))
    op.add_column("resident", sa.Column("moved_out_at", _TIME(), nullable=True))
    op.create_index("ix_resident_stable_key", "resident", ["stable_key"])
    op.add_column("delivery", sa.Column("covered_by", sa.Integer(), nullable=True))
    op.create_table(
        "number_send",
        sa.Column("push_id", sa.Integer(), nullable=False),
        sa.Column("recipient", _STR(length=128), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("push_id", "recipient"),
    )
    op.create_table(
        "roster_draft",
        sa.Column("id", _STR(length=32), nullable=False),
        sa.Column("actor", _STR(length=64), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_roster_draft_created_at", "roster_draft", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_roster_draft_created_at", table_name="roster_draft")
    op.drop_table("roster_draft")
    op.drop_table("number_send")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("covered_by")
    op.drop_index("ix_resident_stable_key", table_name="resident")
    with op.batch_alter_table("resident") as batch:
        batch.drop_column("moved_out_at")
        batch.drop_column("stable_key")
