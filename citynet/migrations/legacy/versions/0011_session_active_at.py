"""session active at

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 15:26:25.623614
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("radius_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("radius_session", schema=None) as batch_op:
        batch_op.drop_column("active_at")
