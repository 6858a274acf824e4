"""monitoring

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 16:17:37.566603
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_state",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=1024), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_state")),
    )
    op.create_table(
        "kpi_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column("scope", sa.String(length=160), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=False),
        sa.Column("denominator", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_sample")),
        sa.UniqueConstraint("metric", "scope", "day", name=op.f("uq_kpi_sample_metric")),
    )
    with op.batch_alter_table("kpi_sample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_sample_day"), ["day"], unique=False)

    op.create_table(
        "probe_state",
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("up", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("loss", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_probe_state")),
    )
    op.create_table(
        "survey_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey", sa.String(length=128), nullable=False),
        sa.Column("point", sa.String(length=64), nullable=False),
        sa.Column("hotspot", sa.String(length=128), nullable=False),
        sa.Column("best_dbm", sa.Float(), nullable=True),
        sa.Column("bssid", sa.String(length=17), nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_point")),
        sa.UniqueConstraint("survey", "point", "hotspot", name=op.f("uq_survey_point_survey")),
    )
    with op.batch_alter_table("survey_point", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_point_hotspot"), ["hotspot"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_point_survey"), ["survey"], unique=False)

    op.create_table(
        "telemetry_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measurement", sa.String(length=64), nullable=False),
        sa.Column("series", sa.String(length=255), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_rollup")),
        sa.UniqueConstraint(
            "measurement", "series", "hour", name=op.f("uq_telemetry_rollup_measurement")
        ),
    )
    with op.batch_alter_table("telemetry_rollup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telemetry_rollup_hour"), ["hour"], unique=False)

    with op.batch_alter_table("access_point", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address", sa.String(length=255), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("access_point", schema=None) as batch_op:
        batch_op.drop_column("address")

    with op.batch_alter_table("telemetry_rollup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_rollup_hour"))

    op.drop_table("telemetry_rollup")
    with op.batch_alter_table("survey_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_point_survey"))
        batch_op.drop_index(batch_op.f("ix_survey_point_hotspot"))

    op.drop_table("survey_point")
    op.drop_table("probe_state")
    with op.batch_alter_table("kpi_sample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_sample_day"))

    op.drop_table("kpi_sample")
    op.drop_table("alert_state")
