"""English names for communities and target owners (streets have had one since 0001)

The English dashboard showed Chinese community names and owners; the inventory now
carries their English names, empty meaning "show the Chinese one".

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDED = {"community": "name_en", "coverage_target": "owner_en"}


def upgrade() -> None:
    for table, column in ADDED.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.String(length=128), server_default="",
                                       nullable=False))


def downgrade() -> None:
    for table, column in ADDED.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
