"""The radius domain's tables exactly as revision 0019 of the single chain left them

Tables: accounting, sessions, login records, vouchers, profiles, tokens and remembered
devices.

A store stamped 0019 is at this revision already (citynet.migrate restamps it,
touching nothing); a new store starts here.

Revision ID: radius_0001
Revises: (none)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "radius_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("radius",)
depends_on: str | Sequence[str] | None = None
# a store at revision 0019 of the single chain is restamped here (citynet.migrate)
stands_for = "0019"


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
        sa.Column("called_station", sa.String(length=253), nullable=False),
        sa.Column("private_ip", sa.String(length=45), nullable=False),
        sa.Column("nat_ip", sa.String(length=45), nullable=False),
        sa.Column("nat_ports", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=253), nullable=False),
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
        batch_op.create_index("ix_login_record_result_at", ["result", "at"], unique=False)

    op.create_table(
        "radius_accounting",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nas", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=253), nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("calling_station", sa.String(length=253), nullable=False),
        sa.Column("called_station", sa.String(length=253), nullable=False),
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
        "radius_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nas", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=253), nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("calling_station", sa.String(length=253), nullable=False),
        sa.Column("framed_ip", sa.String(length=45), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_time", sa.Integer(), nullable=False),
        sa.Column("input_octets", sa.BigInteger(), nullable=False),
        sa.Column("output_octets", sa.BigInteger(), nullable=False),
        sa.Column("terminate_cause", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=253), server_default="", nullable=False),
        sa.Column("method", sa.String(length=16), server_default="", nullable=False),
        sa.Column("called_station", sa.String(length=253), server_default="", nullable=False),
        sa.Column("active_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radius_session")),
        sa.UniqueConstraint("nas", "session_id", name=op.f("uq_radius_session_nas")),
    )
    with op.batch_alter_table("radius_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_radius_session_identity"), ["identity"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_radius_session_stopped_at"), ["stopped_at"], unique=False
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

    op.create_table(
        "voucher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("devices_used", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher")),
        sa.UniqueConstraint("code", name=op.f("uq_voucher_code")),
    )
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_batch"), ["batch"], unique=False)

    op.create_table(
        "voucher_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["voucher.id"],
            name=op.f("fk_voucher_device_voucher_id_voucher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_device")),
        sa.UniqueConstraint("voucher_id", "mac", name=op.f("uq_voucher_device_voucher_id")),
    )


def downgrade() -> None:
    op.drop_table("voucher_device")
    op.drop_table("voucher")
    op.drop_table("remembered_device")
    op.drop_table("radius_token")
    op.drop_table("radius_session")
    op.drop_table("radius_profile")
    op.drop_table("radius_accounting")
    op.drop_table("login_record")
