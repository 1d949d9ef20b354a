"""sources and the catalogue's fields: county sources polled for new items (issue 22)

``source`` holds a configured feed, list page or JSON endpoint; ``source_entry`` one
notice seen there (its URL and 索引号, the item it became, a digest of its text, the
detail page's validators, when it was found gone). Items gain the catalogue's fields
(依据, 时限, 对象, 渠道), the document's (发文字号, 索引号), the policy interpretation
(政策解读), attachments (links), the item a correction draft corrects, the source an
item came from and when it vanished from there. New item columns are added with
``ADD COLUMN`` (SQLite takes a ``REFERENCES`` clause there), so the item table is not
rebuilt.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def _source() -> None:
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _STR(length=100), nullable=False),
        sa.Column("kind", _STR(length=16), nullable=False),
        sa.Column("url", _STR(length=500), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("domain", _STR(length=64), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("etag", _STR(length=200), nullable=True),
        sa.Column("last_modified", _STR(length=100), nullable=True),
        sa.Column("last_fetch_at", _TIME(), nullable=True),
        sa.Column("last_ok_at", _TIME(), nullable=True),
        sa.Column("last_error", _STR(length=500), nullable=True),
        sa.Column("items_found", sa.Integer(), nullable=False),
        sa.Column("items_created", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_source_last_fetch_at", "source", ["last_fetch_at"])


def _entry() -> None:
    op.create_table(
        "source_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("url", _STR(length=500), nullable=False),
        sa.Column("index_number", _STR(length=64), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("digest", _STR(length=64), nullable=False),
        sa.Column("etag", _STR(length=200), nullable=True),
        sa.Column("last_modified", _STR(length=100), nullable=True),
        sa.Column("seen_at", _TIME(), nullable=False),
        sa.Column("checked_at", _TIME(), nullable=False),
        sa.Column("gone_at", _TIME(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "url", name="uq_source_entry_url"),
    )
    op.create_index("ix_source_entry_url", "source_entry", ["url"])
    op.create_index("ix_source_entry_index_number", "source_entry", ["index_number"])
    op.create_index("ix_source_entry_item_id", "source_entry", ["item_id"])


_ITEM_COLUMNS = (
    ("basis", lambda: _STR(length=500)),
    ("time_limit_days", sa.Integer),
    ("audience", lambda: _STR(length=100)),
    ("disclosure_channels", sa.JSON),
    ("doc_number", lambda: _STR(length=100)),
    ("index_number", lambda: _STR(length=64)),
    ("interpretation", sa.JSON),
    ("attachments", sa.JSON),
    ("gone_at", _TIME),
)


def _add_reference(name: str, target: str) -> None:
    """A nullable integer column referencing ``target.id`` (inline on SQLite)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE item ADD COLUMN {name} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column("item", sa.Column(name, sa.Integer(), sa.ForeignKey(f"{target}.id")))


def upgrade() -> None:
    _source()
    _entry()
    for name, kind in _ITEM_COLUMNS:
        op.add_column("item", sa.Column(name, kind(), nullable=True))
    for name, target in (("corrects_id", "item"), ("source_id", "source")):
        _add_reference(name, target)
    op.create_index("ix_item_index_number", "item", ["index_number"])
    op.create_index("ix_item_source_id", "item", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_item_source_id", table_name="item")
    op.drop_index("ix_item_index_number", table_name="item")
    with op.batch_alter_table("item") as batch_op:
        for name in ("source_id", "corrects_id", *(n for n, _ in reversed(_ITEM_COLUMNS))):
            batch_op.drop_column(name)
    op.drop_table("source_entry")
    op.drop_table("source")
