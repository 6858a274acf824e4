"""RADIUS identifiers as long as RADIUS allows: session ids, station ids (253 characters)

On SQLite the upgrade copies the three tables (the RADIUS service stopped, and twice
their size free on disk); PostgreSQL widens the columns in place. A string attribute
holds up to 253 bytes. Columns of 64 and 128 made PostgreSQL refuse a
record carrying a longer Acct-Session-Id or Calling-Station-Id (the record lost, the NAS
retrying for ever), and cutting such an id would break what uses it again (a
Disconnect-Request names the session by it; a retransmission is known by it).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → {column: (before, after)}
WIDER = {
    "radius_accounting": {"session_id": (128, 253), "calling_station": (64, 253),
                          "called_station": (128, 253)},
    "radius_session": {"session_id": (128, 253), "calling_station": (64, 253),
                       "called_station": (128, 253)},
    "login_record": {"called_station": (128, 253), "session_id": (128, 253),
                     "nat_ports": (16, 32)},
}


def _resize(wider: bool) -> None:
    # PostgreSQL widens a varchar in place; SQLite (which never enforced the length) has
    # its table copied by batch mode, so that its schema says what the models say
    for name, columns in WIDER.items():
        with op.batch_alter_table(name) as table:
            for column, (narrow, wide) in columns.items():
                before, after = (narrow, wide) if wider else (wide, narrow)
                table.alter_column(column, existing_type=sa.String(before),
                                   type_=sa.String(after), existing_nullable=False)


def upgrade() -> None:
    _resize(wider=True)


def downgrade() -> None:
    # the narrower columns cannot hold what was stored since, and cutting it would break
    # the login records' hash chain: refuse, saying where
    for name, columns in WIDER.items():
        for column, (narrow, _wide) in columns.items():
            longest = op.get_bind().execute(
                sa.select(sa.func.max(sa.func.length(sa.column(column))))
                .select_from(sa.table(name))).scalar()
            if longest is not None and longest > narrow:
                raise RuntimeError(f"cannot downgrade below 0017: {name}.{column} holds "
                                   f"values of {longest} characters (at most {narrow} "
                                   "before 0017)")
    _resize(wider=False)
