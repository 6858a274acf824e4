"""portal

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 14:54:08.867283
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
    with op.batch_alter_table("nas_client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uam_secret_sealed", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nas_client", schema=None) as batch_op:
        batch_op.drop_column("uam_secret_sealed")

    op.drop_table("portal_totp")
    with op.batch_alter_table("portal_sms_send", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sms_send_prefix"))
        batch_op.drop_index(batch_op.f("ix_portal_sms_send_phone"))
        batch_op.drop_index(batch_op.f("ix_portal_sms_send_mac"))
        batch_op.drop_index(batch_op.f("ix_portal_sms_send_ip"))
        batch_op.drop_index(batch_op.f("ix_portal_sms_send_at"))

    op.drop_table("portal_sms_send")
    with op.batch_alter_table("portal_sms_code", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_sms_code_phone_attempt")

    op.drop_table("portal_sms_code")
