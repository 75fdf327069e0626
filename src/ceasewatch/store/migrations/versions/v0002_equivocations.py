"""Equivocation evidence: an append-only table, guarded by the same triggers as the ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "equivocations"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("evidence", sa.String(64), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("served_size", sa.BigInteger(), nullable=False),
        sa.Column("stored_note", sa.LargeBinary(), nullable=False),
        sa.Column("served_note", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("found_by", sa.String(64), nullable=False),
        sa.Column("found_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "evidence", name="pk_equivocations"),
    )
    dialect = op.get_bind().dialect.name
    for op_name in ("UPDATE", "DELETE"):
        if dialect == "postgresql":
            # ceasewatch_append_only() is created by revision 0001
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{op_name.lower()} BEFORE {op_name} ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION ceasewatch_append_only()"
            )
        elif dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{op_name.lower()} BEFORE {op_name} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, 'ceasewatch: {TABLE} is append-only "
                f"({op_name} refused)'); END"
            )
    if dialect == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ceasewatch_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for op_name in ("update", "delete", "truncate"):
        if dialect == "postgresql" or op_name != "truncate":
            suffix = f" ON {TABLE}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{op_name}{suffix}")
    op.drop_table(TABLE)
