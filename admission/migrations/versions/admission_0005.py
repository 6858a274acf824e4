"""The enrolment page's hold by client address: failed sign-ins over any names

Revision ID: admission_0005
Revises: admission_0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "admission_0005"
down_revision: str | None = "admission_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admission_enrol_source",
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_admission_enrol_source")),
    )


def downgrade() -> None:
    op.drop_table("admission_enrol_source")
