"""The Portal protocol of Huawei/H3C/Ruijie ACs on NAS clients

A NAS that is a Chinese AC hands logins to the portal over the Portal protocol (CMCC v1,
Huawei 2.0): which dialect it speaks, the UDP port it takes it on, and its shared key
(sealed like the RADIUS secret), and its redirect parameter names where they differ from
its vendor's. All empty for the NAS registered before.

Revision ID: inventory_0002
Revises: inventory_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inventory_0002"
down_revision: str | None = "inventory_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nas_client") as batch:
        batch.add_column(sa.Column("portal_protocol", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("portal_port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("portal_secret_sealed", sa.String(length=512),
                                   nullable=True))
        batch.add_column(sa.Column("portal_parameters", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nas_client") as batch:
        batch.drop_column("portal_parameters")
        batch.drop_column("portal_secret_sealed")
        batch.drop_column("portal_port")
        batch.drop_column("portal_protocol")
