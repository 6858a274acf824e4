"""An alert's detail as a msgid and its values, to say it in the reader's language

Revision ID: monitoring_0002
Revises: monitoring_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_0002"
down_revision: str | None = "monitoring_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail_said", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.drop_column("detail_said")
