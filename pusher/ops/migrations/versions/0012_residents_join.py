"""residents join: followers by QR scene, bindings to the roster, SMS codes, messages (issue 20)

``wx_follower`` holds a follower of the official account with the region of the QR code
they came through and their subscription-notice consent; ``wx_binding`` ties a follower
to a roster resident (or waits for the grid worker; ``proxy`` for 代收); ``verify_code``
the SMS confirmation codes (digests only); ``resident_message`` what residents write back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def _follower() -> None:
    op.create_table(
        "wx_follower",
        sa.Column("openid", _STR(length=64), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("scene", _STR(length=64), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("consent_at", _TIME(), nullable=True),
        sa.Column("followed_at", _TIME(), nullable=False),
        sa.Column("last_seen_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"]),
        sa.PrimaryKeyConstraint("openid"),
    )
    op.create_index("ix_wx_follower_region_id", "wx_follower", ["region_id"])


def _binding() -> None:
    op.create_table(
        "wx_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", _STR(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", _STR(length=64), nullable=False),
        sa.Column("phone", _STR(length=20), nullable=False),
        sa.Column("proxy", sa.Boolean(), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("decided_by", _STR(length=64), nullable=True),
        sa.Column("decided_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"]),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("openid", "resident_id", "region_id", "status"):
        op.create_index(f"ix_wx_binding_{column}", "wx_binding", [column])


def _code() -> None:
    op.create_table(
        "verify_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", _STR(length=20), nullable=False),
        sa.Column("openid", _STR(length=64), nullable=False),
        sa.Column("address", _STR(length=64), nullable=False),
        sa.Column("digest", _STR(length=64), nullable=False),
        sa.Column("name", _STR(length=64), nullable=False),
        sa.Column("proxy", sa.Boolean(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("expires_at", _TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("phone", "openid", "address", "created_at"):
        op.create_index(f"ix_verify_code_{column}", "verify_code", [column])


def _message() -> None:
    op.create_table(
        "resident_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("channel", _STR(length=16), nullable=False),
        sa.Column("sender", _STR(length=64), nullable=False),
        sa.Column("text", _STR(length=2000), nullable=False),
        sa.Column("push_id", sa.Integer(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("answer", _STR(length=1000), nullable=True),
        sa.Column("answered_by", _STR(length=64), nullable=True),
        sa.Column("answered_via", _STR(length=16), nullable=True),
        sa.Column("answered_at", _TIME(), nullable=True),
        sa.Column("closed_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"]),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("resident_id", "region_id", "status", "created_at"):
        op.create_index(f"ix_resident_message_{column}", "resident_message", [column])


def upgrade() -> None:
    _follower()
    _binding()
    _code()
    _message()


def downgrade() -> None:
    for table in ("resident_message", "verify_code", "wx_binding", "wx_follower"):
        op.drop_table(table)
