"""group kinds: robot, WeCom customer group and relayed WeChat group chats (issue 21)

``group_chat.kind`` (robot | customer_group | relay; existing chats are robots),
``keeper_user_id`` (the grid worker or cadre who relays an ordinary group),
``owner_userid`` and ``wecom_chat_id`` (a customer group's owner and chat id at WeCom);
non-robot chats keep "" in ``robot_key``. ``group_task`` is one WeCom mass-message task
per (push, owner). ``link_open_day.group_chat_id`` counts short-link opens per group
chat (0: the link named none); the day's unique key gains it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # plain ADD COLUMN (a constant default or nullable): no table copy on SQLite
    op.add_column(
        "group_chat",
        sa.Column("kind", _STR(length=16), nullable=False, server_default="robot"),
    )
    op.add_column("group_chat", sa.Column("keeper_user_id", sa.Integer(), nullable=True))
    op.add_column("group_chat", sa.Column("owner_userid", _STR(length=64), nullable=True))
    op.add_column("group_chat", sa.Column("wecom_chat_id", _STR(length=64), nullable=True))
    op.create_table(
        "group_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("push_id", sa.Integer(), nullable=False),
        sa.Column("owner_userid", _STR(length=64), nullable=False),
        sa.Column("msgid", _STR(length=128), nullable=True),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("remind_at", _TIME(), nullable=False),
        sa.Column("reminded_at", _TIME(), nullable=True),
        sa.Column("settled_at", _TIME(), nullable=True),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("error_code", _STR(length=64), nullable=True),
        sa.ForeignKeyConstraint(["push_id"], ["push.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("push_id", "owner_userid", name="uq_group_task_push_owner"),
    )
    # the unique key changes: a table copy on SQLite (a counter table, small)
    with op.batch_alter_table("link_open_day") as batch:
        batch.add_column(
            sa.Column("group_chat_id", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_constraint("uq_link_open_day", type_="unique")
        batch.create_unique_constraint(
            "uq_link_open_day", ["item_id", "region_code", "group_chat_id", "day"]
        )


def downgrade() -> None:
    # per-group counts fold back into their (item, village, day) row
    op.execute(
        "UPDATE link_open_day SET opens = opens + (SELECT COALESCE(sum(o.opens), 0) "
        "FROM link_open_day o WHERE o.item_id = link_open_day.item_id "
        "AND o.region_code = link_open_day.region_code AND o.day = link_open_day.day "
        "AND o.group_chat_id <> 0) WHERE group_chat_id = 0"
    )
    op.execute(
        "INSERT INTO link_open_day (item_id, region_code, day, opens, group_chat_id) "
        "SELECT item_id, region_code, day, sum(opens), 0 FROM link_open_day g "
        "WHERE group_chat_id <> 0 AND NOT EXISTS (SELECT 1 FROM link_open_day z "
        "WHERE z.item_id = g.item_id AND z.region_code = g.region_code AND z.day = g.day "
        "AND z.group_chat_id = 0) GROUP BY item_id, region_code, day"
    )
    op.execute("DELETE FROM link_open_day WHERE group_chat_id <> 0")
    with op.batch_alter_table("link_open_day") as batch:
        batch.drop_constraint("uq_link_open_day", type_="unique")
        batch.create_unique_constraint("uq_link_open_day", ["item_id", "region_code", "day"])
        batch.drop_column("group_chat_id")
    op.drop_table("group_task")
    with op.batch_alter_table("group_chat") as batch:
        batch.drop_column("wecom_chat_id")
        batch.drop_column("owner_userid")
        batch.drop_column("keeper_user_id")
        batch.drop_column("kind")
