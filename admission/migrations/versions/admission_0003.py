"""People's network passwords: argon2id for TTLS/PAP, the sealed NT hash for PEAP

Revision ID: admission_0003
Revises: admission_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "admission_0003"
down_revision: str | None = "admission_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admission_person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("nt_hash_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admission_person", schema=None) as batch_op:
        batch_op.drop_column("nt_hash_sealed")
        batch_op.drop_column("password_hash")
