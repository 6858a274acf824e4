"""radius profiles, tokens, remembered devices, session identity

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 14:21:09.361022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "radius_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("max_session_minutes", sa.Integer(), nullable=False),
        sa.Column("idle_timeout", sa.Integer(), nullable=False),
        sa.Column("interim_interval", sa.Integer(), nullable=False),
        sa.Column("bandwidth_up_kbps", sa.Integer(), nullable=False),
        sa.Column("bandwidth_down_kbps", sa.Integer(), nullable=False),
        sa.Column("daily_minutes", sa.Integer(), nullable=False),
        sa.Column("daily_megabytes", sa.Integer(), nullable=False),
        sa.Column("simultaneous_use", sa.Integer(), nullable=False),
        sa.Column("remember_days", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radius_profile")),
        sa.UniqueConstraint("name", name=op.f("uq_radius_profile_name")),
    )
    op.create_table(
        "radius_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("secret_sealed", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radius_token")),
    )
    with op.batch_alter_table("radius_token", schema=None) as batch_op:
        batch_op.create_index(
            "ix_radius_token_identity_expires", ["identity", "expires_at"], unique=False
        )

    op.create_table(
        "remembered_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_why", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remembered_device")),
    )
    with op.batch_alter_table("remembered_device", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remembered_device_identity"), ["identity"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_remembered_device_mac"), ["mac"], unique=False)

    with op.batch_alter_table("radius_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identity", sa.String(length=253), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("method", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("called_station", sa.String(length=128), server_default="", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_radius_session_identity"), ["identity"], unique=False)
    # sessions before this revision were all for their User-Name
    op.execute("UPDATE radius_session SET identity = username")


def downgrade() -> None:
    with op.batch_alter_table("radius_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_radius_session_identity"))
        batch_op.drop_column("called_station")
        batch_op.drop_column("method")
        batch_op.drop_column("identity")

    with op.batch_alter_table("remembered_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remembered_device_mac"))
        batch_op.drop_index(batch_op.f("ix_remembered_device_identity"))

    op.drop_table("remembered_device")
    with op.batch_alter_table("radius_token", schema=None) as batch_op:
        batch_op.drop_index("ix_radius_token_identity_expires")

    op.drop_table("radius_token")
    op.drop_table("radius_profile")
