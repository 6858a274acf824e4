"""Leader election for singleton work: the term that fences a leader's writes, and the
history of its rounds

Revision ID: kernel_0002
Revises: kernel_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kernel_0002"
down_revision: str | None = "kernel_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leader_term",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("term", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leader_term")),
    )
    op.create_table(
        "singleton_round",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("term", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("work", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_singleton_round")),
    )
    op.create_index(op.f("ix_singleton_round_term"), "singleton_round", ["term"])
    op.create_index(op.f("ix_singleton_round_started_at"), "singleton_round", ["started_at"])


def downgrade() -> None:
    op.drop_table("singleton_round")
    op.drop_table("leader_term")
