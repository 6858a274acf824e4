"""An index on the live sessions' client address: the captive portal finds a device's
session by its address (RFC 8908's API, and the MAC an AC accounted for behind a
Portal-protocol AC, several times a login), which without it read every open session of
the NAS — 0.8 ms a lookup at 2,500 open sessions, growing with the AC's users

Revision ID: radius_0004
Revises: radius_0003
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "radius_0004"
down_revision: str | None = "radius_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_radius_session_framed_ip"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(op.f(INDEX), "radius_session", ["framed_ip"])
        return
    # PostgreSQL: built CONCURRENTLY, outside the upgrade's transaction — a plain CREATE
    # INDEX blocks every accounting write to radius_session while it reads the table.
    # A build that was interrupted leaves an invalid index behind; the upgrade runs again
    # (its revision was not stamped) and builds it anew.
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        invalid = bind.execute(text(
            "SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid "
            "WHERE pg_class.relname = :name AND NOT pg_index.indisvalid"),
            {"name": INDEX}).first()
        if invalid is not None:
            op.drop_index(op.f(INDEX), table_name="radius_session",
                          postgresql_concurrently=True)
        op.create_index(op.f(INDEX), "radius_session", ["framed_ip"],
                        postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(op.f(INDEX), table_name="radius_session")
