"""The admission domain's first tables: people, the district CA, client certificates

Revision ID: admission_0001
Revises: (none)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "admission_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("admission",)
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "admission_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("real_name", sa.String(length=128), nullable=False),
        sa.Column("department", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("role", _enum("admission_role", "staff", "teacher", "student"),
                  nullable=False),
        sa.Column("status", _enum("admission_status", "active", "disabled"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_person")),
        sa.UniqueConstraint("username", name=op.f("uq_admission_person_username")),
    )
    op.create_table(
        "admission_authority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ca_cert_pem", sa.Text(), nullable=False),
        sa.Column("ca_key_sealed", sa.Text(), nullable=False),
        sa.Column("server_cert_pem", sa.Text(), nullable=False),
        sa.Column("server_key_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("crl_number", sa.Integer(), nullable=False),
        sa.Column("crl_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_authority")),
    )
    op.create_table(
        "admission_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["admission_person.id"],
            name=op.f("fk_admission_certificate_person_id_admission_person"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_certificate")),
        sa.UniqueConstraint("serial", name=op.f("uq_admission_certificate_serial")),
    )
    with op.batch_alter_table("admission_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admission_certificate_person_id"), ["person_id"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("admission_certificate")
    op.drop_table("admission_authority")
    op.drop_table("admission_person")
