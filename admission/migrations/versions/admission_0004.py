"""The enrolment page's lockout: a person's wrong passwords in a row and the lock's end

Revision ID: admission_0004
Revises: admission_0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "admission_0004"
down_revision: str | None = "admission_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admission_person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrol_failures", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("enrol_locked_until", sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admission_person", schema=None) as batch_op:
        batch_op.drop_column("enrol_locked_until")
        batch_op.drop_column("enrol_failures")
