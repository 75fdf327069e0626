"""The ledger tables (append-only, guarded by triggers), peers and the records projection.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("logs", "entries", "checkpoints", "cosignatures", "blobs")


def upgrade() -> None:
    op.create_table(
        "logs",
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("origin", name="pk_logs"),
    )
    op.create_table(
        "entries",
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["origin"], ["logs.origin"], name="fk_entries_logs"),
        sa.PrimaryKeyConstraint("origin", "idx", name="pk_entries"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["origin"], ["logs.origin"], name="fk_checkpoints_logs"),
        sa.PrimaryKeyConstraint("origin", "size", name="pk_checkpoints"),
    )
    op.create_table(
        "cosignatures",
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("cosigner", sa.String(255), nullable=False),
        sa.Column("key_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin", "size"],
            ["checkpoints.origin", "checkpoints.size"],
            name="fk_cosignatures_checkpoints",
        ),
        sa.PrimaryKeyConstraint("origin", "size", "cosigner", "key_id", name="pk_cosignatures"),
    )
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_blobs"),
    )
    op.create_table(
        "peers",
        sa.Column("org", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("cosigner_vkey", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("org", name="pk_peers"),
    )
    op.create_table(
        "records",
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("origin", "content_hash", name="pk_records"),
    )
    op.create_index("ix_records_origin_idx", "records", ["origin", "idx"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE) on the ledger tables, inside the database."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION ceasewatch_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'ceasewatch: % is append-only (% refused)', "
            "TG_TABLE_NAME, TG_OP; END $$"
        )
        for table in APPEND_ONLY:
            for op_name in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION ceasewatch_append_only()"
                )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ceasewatch_append_only()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for op_name in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'ceasewatch: {table} is append-only "
                    f"({op_name} refused)'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for op_name in ("update", "delete", "truncate"):
            if dialect == "postgresql" or op_name != "truncate":
                suffix = f" ON {table}" if dialect == "postgresql" else ""
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op_name}{suffix}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ceasewatch_append_only()")
    op.drop_index("ix_records_origin_idx", table_name="records")
    for table in ("records", "peers", "blobs", "cosignatures", "checkpoints", "entries", "logs"):
        op.drop_table(table)
