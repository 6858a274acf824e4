"""An index of login records by result and time: wrong voucher codes counted quickly

The portal holds a NAS whose clients sent too many wrong voucher codes in the last 10
minutes, and the record writer caps their records (radius/guesses.py). Found by time
alone, that count read every login record of the window (≈ 200 ms with 100,000 in it,
on every voucher login); by result and time it reads only the refusals.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_login_record_result_at", "login_record", ["result", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_record_result_at", table_name="login_record")
