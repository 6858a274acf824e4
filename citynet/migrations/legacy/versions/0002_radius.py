"""radius accounting and sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:11:23.157590
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "radius_accounting",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nas", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("calling_station", sa.String(length=64), nullable=False),
        sa.Column("called_station", sa.String(length=128), nullable=False),
        sa.Column("framed_ip", sa.String(length=45), nullable=False),
        sa.Column("session_time", sa.Integer(), nullable=False),
        sa.Column("input_octets", sa.BigInteger(), nullable=False),
        sa.Column("output_octets", sa.BigInteger(), nullable=False),
        sa.Column("terminate_cause", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radius_accounting")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_radius_accounting_dedupe_key")),
    )
    with op.batch_alter_table("radius_accounting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_radius_accounting_nas"), ["nas"], unique=False)

    op.create_table(
        "radius_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nas", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("calling_station", sa.String(length=64), nullable=False),
        sa.Column("framed_ip", sa.String(length=45), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_time", sa.Integer(), nullable=False),
        sa.Column("input_octets", sa.BigInteger(), nullable=False),
        sa.Column("output_octets", sa.BigInteger(), nullable=False),
        sa.Column("terminate_cause", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radius_session")),
        sa.UniqueConstraint("nas", "session_id", name=op.f("uq_radius_session_nas")),
    )
    with op.batch_alter_table("radius_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_radius_session_stopped_at"), ["stopped_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("radius_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_radius_session_stopped_at"))

    op.drop_table("radius_session")
    with op.batch_alter_table("radius_accounting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_radius_accounting_nas"))

    op.drop_table("radius_accounting")
