"""push.progress_at: when planning last moved on (issue 17)

A push left in ``planning`` by a worker killed mid-way was taken up by the sweep only
five minutes after the push was made. With the time its planning last recorded a
chunk, the sweep takes it up once planning has stood still for a minute.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push") as batch:
        batch.add_column(sa.Column("progress_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push") as batch:
        batch.drop_column("progress_at")
