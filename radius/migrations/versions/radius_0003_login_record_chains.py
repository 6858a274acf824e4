"""Login records on several chains: a chain column (0 for every existing row) and the
primary key (chain, seq), so each RADIUS listener process appends to a chain of its own

Chain 0 keeps the meta keys of the one chain there was (chain.login_record.head, .base):
an upgraded store verifies unchanged.

Revision ID: radius_0003
Revises: radius_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "radius_0003"
down_revision: str | None = "radius_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain", sa.SmallInteger(), server_default="0",
                                      nullable=False))
        batch_op.drop_constraint("pk_login_record", type_="primary")
        batch_op.create_primary_key("pk_login_record", ["chain", "seq"])


def downgrade() -> None:
    # only a store whose records are all on chain 0 goes back to one chain
    found = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM login_record WHERE chain <> 0")).scalar_one()
    if found:
        raise RuntimeError(f"{found} login records are on chains other than 0: "
                           "one chain cannot hold them")
    with op.batch_alter_table("login_record", schema=None) as batch_op:
        batch_op.drop_constraint("pk_login_record", type_="primary")
        batch_op.create_primary_key("pk_login_record", ["seq"])
        batch_op.drop_column("chain")
