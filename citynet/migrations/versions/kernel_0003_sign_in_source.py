"""Sign-in holds by client address: failed sign-ins per page and address over any names

Revision ID: kernel_0003
Revises: kernel_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kernel_0003"
down_revision: str | None = "kernel_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_source",
        sa.Column("door", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("door", "address", name=op.f("pk_sign_in_source")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_source")
