"""built-in topics: the 26 standard domains of grassroots disclosure

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOMAINS = (
    "重大建设项目", "公共资源交易", "财政预决算", "安全生产", "税收管理",
    "征地补偿/农村集体土地征收", "国有土地上房屋征收与补偿", "农村危房改造", "扶贫/乡村振兴",
    "食品药品监管", "城乡规划", "生态环境", "公共文化服务", "公共法律服务", "救灾", "社会救助",
    "养老服务", "户籍管理", "涉农补贴", "义务教育", "卫生健康", "城市综合执法", "就业",
    "社会保险", "市政服务", "保障性住房",
)

topic = sa.table("topic", sa.column("name", sa.String), sa.column("builtin", sa.Boolean))


def upgrade() -> None:
    op.bulk_insert(topic, [{"name": name, "builtin": True} for name in DOMAINS])


def downgrade() -> None:
    op.execute(topic.delete().where(topic.c.builtin.is_(True)))
