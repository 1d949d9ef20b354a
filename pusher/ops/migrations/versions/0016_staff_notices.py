"""staff notices: console users' phone and openid, and a row per notice sent (issues 20, 23)

``user_account.phone/openid`` are where a reviewer, leader or grid worker is told that
something waits for them; ``notify_consent_at`` records that they agreed to it (no
consent: never notified). ``staff_notice`` holds one row per (subject, round, user):
written before the message goes, unique, so a job that runs twice never notifies twice.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.add_column("user_account", sa.Column("phone", _STR(length=20), nullable=True))
    op.add_column("user_account", sa.Column("openid", _STR(length=64), nullable=True))
    op.add_column("user_account", sa.Column("notify_consent_at", _TIME(), nullable=True))
    op.create_table(
        "staff_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", _STR(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", _STR(length=16), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("error_code", _STR(length=64), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("sent_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "round", "user_id", name="uq_staff_notice"),
    )
    op.create_index("ix_staff_notice_subject", "staff_notice", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_staff_notice_subject", table_name="staff_notice")
    op.drop_table("staff_notice")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("notify_consent_at")
        batch.drop_column("openid")
        batch.drop_column("phone")
