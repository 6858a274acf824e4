"""The enrolment page's hold by address moves to the kernel's sign_in_source (door
nac.enrol, kernel_0003), which the staff login shares

The counts are not carried over: they are windows of 15 minutes at most, and copying
them would make this branch depend on the kernel's (depends_on), which the store's
one-row-per-branch version check does not know (citynet.migrate).

Revision ID: admission_0006
Revises: admission_0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "admission_0006"
down_revision: str | None = "admission_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("admission_enrol_source")


def downgrade() -> None:
    op.create_table(
        "admission_enrol_source",
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_admission_enrol_source")),
    )
