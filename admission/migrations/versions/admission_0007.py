"""Wrong network passwords (PEAP, TTLS) per person and device: the password hold

Revision ID: admission_0007
Revises: admission_0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "admission_0007"
down_revision: str | None = "admission_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admission_password_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=17), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("username", "device",
                                name=op.f("pk_admission_password_failures")),
    )


def downgrade() -> None:
    op.drop_table("admission_password_failures")
