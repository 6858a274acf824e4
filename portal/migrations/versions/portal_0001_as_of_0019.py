"""The portal domain's tables exactly as revision 0019 of the single chain left them

Tables: SMS codes and sends, TOTP seeds, merchants and consent.

A store stamped 0019 is at this revision already (citynet.migrate restamps it,
touching nothing); a new store starts here.

Revision ID: portal_0001
Revises: (none)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "portal_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("portal",)
depends_on: str | Sequence[str] | None = None
# a store at revision 0019 of the single chain is restamped here (citynet.migrate)
stands_for = "0019"


def upgrade() -> None:
    op.create_table(
        "portal_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terms_version", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_consent")),
    )
    with op.batch_alter_table("portal_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_consent_identity"), ["identity"], unique=False)

    op.create_table(
        "portal_merchant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("offer", sa.String(length=500), nullable=False),
        sa.Column("image", sa.String(length=64), nullable=False),
        sa.Column("communities", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_merchant")),
        sa.UniqueConstraint("name", name=op.f("uq_portal_merchant_name")),
    )
    op.create_table(
        "portal_sms_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("attempt", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sms_code")),
    )
    with op.batch_alter_table("portal_sms_code", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portal_sms_code_phone_attempt", ["phone", "attempt"], unique=False
        )

    op.create_table(
        "portal_sms_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("prefix", sa.String(length=7), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sms_send")),
    )
    with op.batch_alter_table("portal_sms_send", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sms_send_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sms_send_ip"), ["ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sms_send_mac"), ["mac"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sms_send_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_sms_send_prefix"), ["prefix"], unique=False)

    op.create_table(
        "portal_totp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("secret_sealed", sa.String(length=256), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_totp")),
        sa.UniqueConstraint("phone", name=op.f("uq_portal_totp_phone")),
    )


def downgrade() -> None:
    op.drop_table("portal_totp")
    op.drop_table("portal_sms_send")
    op.drop_table("portal_sms_code")
    op.drop_table("portal_merchant")
    op.drop_table("portal_consent")
