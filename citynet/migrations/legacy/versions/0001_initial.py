"""initial schema: kernel meta and inventory

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 11:46:15.736533
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citynet_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=4096), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_citynet_meta")),
    )
    op.create_table(
        "coverage_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "metric",
            sa.Enum(
                "fiber_coverage_eligible",
                "fiber_coverage_government",
                "hotspots_per_community",
                "public_area_wifi_coverage",
                "ap_availability",
                "login_success_rate",
                name="target_metric",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "scope_kind",
            sa.Enum(
                "district",
                "street",
                "community",
                "building_type",
                name="scope_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("scope_ref", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_target")),
        sa.UniqueConstraint(
            "metric", "scope_kind", "scope_ref", name=op.f("uq_coverage_target_metric")
        ),
    )
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_sealed", sa.String(length=512), nullable=False),
        sa.Column("enable_secret_sealed", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
        sa.UniqueConstraint("name", name=op.f("uq_credential_name")),
    )
    op.create_table(
        "nas_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("secret_sealed", sa.String(length=512), nullable=False),
        sa.Column(
            "vendor",
            sa.Enum(
                "coovachilli",
                "huawei",
                "h3c",
                "ruijie",
                "cisco",
                "mikrotik",
                "other",
                name="nas_vendor",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nas_client")),
        sa.UniqueConstraint("address", name=op.f("uq_nas_client_address")),
        sa.UniqueConstraint("name", name=op.f("uq_nas_client_name")),
    )
    op.create_table(
        "street",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_street")),
        sa.UniqueConstraint("name", name=op.f("uq_street_name")),
    )
    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_id"],
            ["street.id"],
            name=op.f("fk_community_street_id_street"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community")),
        sa.UniqueConstraint("name", name=op.f("uq_community_name")),
    )
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_street_id"), ["street_id"], unique=False)

    op.create_table(
        "network_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column(
            "platform",
            sa.Enum(
                "cisco_ios",
                "huawei",
                "hp_comware",
                "ruijie_os",
                "linux",
                name="platform",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "role",
            sa.Enum(
                "access_switch",
                "aggregation_switch",
                "router",
                "wifi_controller",
                name="device_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("site", sa.String(length=128), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credential.id"],
            name=op.f("fk_network_device_credential_id_credential"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_device")),
        sa.UniqueConstraint("hostname", name=op.f("uq_network_device_hostname")),
    )
    with op.batch_alter_table("network_device", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_device_credential_id"), ["credential_id"], unique=False
        )

    op.create_table(
        "building",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "government_agency",
                "public_institution",
                "community_workstation",
                "commercial",
                "residential",
                name="building_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column(
            "fiber_status",
            sa.Enum(
                "connected",
                "planned",
                "unconnected",
                "not_eligible",
                name="fiber_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("fiber_planned_on", sa.Date(), nullable=True),
        sa.Column("fiber_connected_on", sa.Date(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_building_community_id_community"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building")),
        sa.UniqueConstraint("code", name=op.f("uq_building_code")),
    )
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_building_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "hotspot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=256), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("ssids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_hotspot_community_id_community"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot")),
        sa.UniqueConstraint("name", name=op.f("uq_hotspot_name")),
    )
    with op.batch_alter_table("hotspot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hotspot_community_id"), ["community_id"], unique=False)

    op.create_table(
        "access_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("hotspot_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotspot_id"],
            ["hotspot.id"],
            name=op.f("fk_access_point_hotspot_id_hotspot"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_point")),
        sa.UniqueConstraint("mac", name=op.f("uq_access_point_mac")),
    )
    with op.batch_alter_table("access_point", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_point_hotspot_id"), ["hotspot_id"], unique=False
        )

    op.create_table(
        "nas_hotspot",
        sa.Column("nas_id", sa.Integer(), nullable=False),
        sa.Column("hotspot_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotspot_id"],
            ["hotspot.id"],
            name=op.f("fk_nas_hotspot_hotspot_id_hotspot"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["nas_id"],
            ["nas_client.id"],
            name=op.f("fk_nas_hotspot_nas_id_nas_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("nas_id", "hotspot_id", name=op.f("pk_nas_hotspot")),
    )


def downgrade() -> None:
    op.drop_table("nas_hotspot")
    with op.batch_alter_table("access_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_point_hotspot_id"))

    op.drop_table("access_point")
    with op.batch_alter_table("hotspot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hotspot_community_id"))

    op.drop_table("hotspot")
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_building_community_id"))

    op.drop_table("building")
    with op.batch_alter_table("network_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_device_credential_id"))

    op.drop_table("network_device")
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_street_id"))

    op.drop_table("community")
    op.drop_table("street")
    op.drop_table("nas_client")
    op.drop_table("credential")
    op.drop_table("coverage_target")
    op.drop_table("citynet_meta")
