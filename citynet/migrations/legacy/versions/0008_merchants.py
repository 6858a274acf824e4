"""merchants

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 15:06:43.952268
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_merchant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("offer", sa.String(length=500), nullable=False),
        sa.Column("image", sa.String(length=64), nullable=False),
        sa.Column("communities", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_merchant")),
        sa.UniqueConstraint("name", name=op.f("uq_portal_merchant_name")),
    )


def downgrade() -> None:
    op.drop_table("portal_merchant")
