"""The devices domain's tables exactly as revision 0019 of the single chain left them

Tables: approved device changes.

A store stamped 0019 is at this revision already (citynet.migrate restamps it,
touching nothing); a new store starts here.

Revision ID: devices_0001
Revises: (none)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "devices_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("devices",)
depends_on: str | Sequence[str] | None = None
# a store at revision 0019 of the single chain is restamped here (citynet.migrate)
stands_for = "0019"


def upgrade() -> None:
    op.create_table(
        "device_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("selectors", sa.JSON(), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("changing", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "used",
                "expired",
                name="device_change_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=512), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(length=128), nullable=True),
        sa.Column("push_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_change")),
    )
    with op.batch_alter_table("device_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_change_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("device_change")
