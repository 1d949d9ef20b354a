"""item domain review: the reviewer accepts, changes or clears the domain (issue 24)

``item.domain_reviewed_by`` is who decided the item's domain before approval (null: no
decision yet), ``item.reviewed_domain`` the domain they chose (null with a reviewer:
"belongs to no domain"). Matching uses the decision before the declared and the
classified domain.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no table copy on SQLite
    op.add_column("item", sa.Column("domain_reviewed_by", _STR(length=64), nullable=True))
    op.add_column("item", sa.Column("reviewed_domain", _STR(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.drop_column("reviewed_domain")
        batch.drop_column("domain_reviewed_by")
