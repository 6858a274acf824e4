"""Decided Access-Requests by the NAS's request identity, so a retry that fails over to
another node is answered as decided instead of being decided and recorded again

Revision ID: radius_0002
Revises: radius_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "radius_0002"
down_revision: str | None = "radius_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decided_request",
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accept", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_key", name=op.f("pk_decided_request")),
    )
    op.create_index(op.f("ix_decided_request_at"), "decided_request", ["at"])


def downgrade() -> None:
    op.drop_table("decided_request")
