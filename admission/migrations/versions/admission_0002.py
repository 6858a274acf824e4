"""MAC authentication bypass: the allow-list and the unknown MACs seen

Revision ID: admission_0002
Revises: admission_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "admission_0002"
down_revision: str | None = "admission_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admission_mab",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_mab")),
        sa.UniqueConstraint("mac", name=op.f("uq_admission_mab_mac")),
    )
    op.create_table(
        "admission_unknown_mac",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("nas", sa.String(length=64), nullable=False),
        sa.Column("port", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_unknown_mac")),
        sa.UniqueConstraint("mac", "nas", "port",
                            name=op.f("uq_admission_unknown_mac_mac")),  # the convention: column 0
    )


def downgrade() -> None:
    op.drop_table("admission_unknown_mac")
    op.drop_table("admission_mab")
