"""audit log; FRRouting (vtysh) as a device platform

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 16:41:17.720535
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PLATFORMS = ("cisco_ios", "huawei", "hp_comware", "ruijie_os", "linux")


def _platforms(names: tuple[str, ...]) -> sa.TextClause:
    return sa.text("platform IN (" + ", ".join(f"'{n}'" for n in names) + ")")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    with op.batch_alter_table("network_device", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_network_device_platform"), type_="check")
        batch_op.create_check_constraint("platform", _platforms((*PLATFORMS, "frr")))


def downgrade() -> None:
    with op.batch_alter_table("network_device", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_network_device_platform"), type_="check")
        batch_op.create_check_constraint("platform", _platforms(PLATFORMS))
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
