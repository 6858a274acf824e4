"""consent

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 15:08:42.783474
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terms_version", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_consent")),
    )
    with op.batch_alter_table("portal_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_consent_identity"), ["identity"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_consent_identity"))

    op.drop_table("portal_consent")
