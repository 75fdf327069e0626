"""Entries as a SQLite WITHOUT ROWID table: one B-tree in (origin, idx) order.

A rowid table with a composite primary key keeps two B-trees: the primary key index and the
rows by rowid, so a range scan of a log (what `verify`, `sync` and proofs read) looks every row
up twice. WITHOUT ROWID stores the rows in the primary key itself, in index order: a log is
read in one sequential scan (about a quarter less time per entry for `verify`).

SQLite cannot alter that property in place, so the table is rebuilt in the migration's
transaction: a new table, every row copied, the old one dropped (its triggers go with it;
SQLite fires no trigger for the drop), the new one renamed and its append-only triggers put
back. Existing nodes are migrated when they are opened. PostgreSQL has no such option (a
heap and its primary key index): nothing changes there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "entries"


def upgrade() -> None:
    _rebuild(" WITHOUT ROWID")


def downgrade() -> None:
    _rebuild("")


def _rebuild(options: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE TABLE {TABLE}_new (\n"
        "\torigin VARCHAR(255) NOT NULL, \n"
        "\tidx BIGINT NOT NULL, \n"
        "\tleaf_hash BLOB NOT NULL, \n"
        "\tdata BLOB NOT NULL, \n"
        f"\tCONSTRAINT pk_{TABLE} PRIMARY KEY (origin, idx), \n"
        f"\tCONSTRAINT fk_{TABLE}_logs FOREIGN KEY(origin) REFERENCES logs (origin)\n"
        f"){options}"
    )
    op.execute(
        f"INSERT INTO {TABLE}_new (origin, idx, leaf_hash, data) "
        f"SELECT origin, idx, leaf_hash, data FROM {TABLE} ORDER BY origin, idx"
    )
    op.execute(f"DROP TABLE {TABLE}")
    op.execute(f"ALTER TABLE {TABLE}_new RENAME TO {TABLE}")
    for op_name in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{op_name.lower()} BEFORE {op_name} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'ceasewatch: {TABLE} is append-only "
            f"({op_name} refused)'); END"
        )
