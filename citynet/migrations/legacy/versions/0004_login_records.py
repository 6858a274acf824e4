"""login records

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:43:27.066556
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_record",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=253), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("nas", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("called_station", sa.String(length=128), nullable=False),
        sa.Column("private_ip", sa.String(length=45), nullable=False),
        sa.Column("nat_ip", sa.String(length=45), nullable=False),
        sa.Column("nat_ports", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_login_record")),
    )
    with op.batch_alter_table("login_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_record_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_record_identity"), ["identity"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_record_mac"), ["mac"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_record_nat_ip"), ["nat_ip"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_login_record_private_ip"), ["private_ip"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_record_private_ip"))
        batch_op.drop_index(batch_op.f("ix_login_record_nat_ip"))
        batch_op.drop_index(batch_op.f("ix_login_record_mac"))
        batch_op.drop_index(batch_op.f("ix_login_record_identity"))
        batch_op.drop_index(batch_op.f("ix_login_record_at"))

    op.drop_table("login_record")
