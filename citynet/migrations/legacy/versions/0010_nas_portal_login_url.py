"""nas portal login url

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 15:16:48.624354
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nas_client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("portal_login_url", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nas_client", schema=None) as batch_op:
        batch_op.drop_column("portal_login_url")
