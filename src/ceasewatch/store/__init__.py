"""The node's database: the ledger's tables (append-only), peers and projections.

- `schema`: the tables (SQLAlchemy Core).
- `db`: engines for SQLite (default) and PostgreSQL, and Alembic migrations (`migrate`).
- `bulk`: the ledger's hot paths at the driver level (executemany / COPY, range reads).

The store holds bytes and rows; what they mean, and checking them, is `ceasewatch.ledger`'s.
"""

from ceasewatch.store.db import HEAD_REVISION, connect, current_revision, migrate, sqlite_url

__all__ = ["HEAD_REVISION", "connect", "current_revision", "migrate", "sqlite_url"]
