"""The store's tables (SQLAlchemy Core): the ledger, append-only, and what is derived from it.

Ledger tables, never updated nor deleted from (the first migration installs triggers that
refuse UPDATE, DELETE and TRUNCATE on them, on SQLite and PostgreSQL alike):

- ``logs``: one row per log this node holds, its own and the mirrored ones: origin, org and
  the org's verifier key (the key that signs the log's checkpoints).
- ``entries``: each entry's canonical bytes (RFC 8785, the Merkle leaf data) and leaf hash;
  on SQLite a WITHOUT ROWID table, so that a log is one range of one B-tree.
- ``checkpoints``: every signed checkpoint note, as signed, keyed by tree size.
- ``cosignatures``: other monitors' cosignatures (C2SP tlog-cosignature) of checkpoints.
- ``blobs``: raw input files by SHA-256.
- ``equivocations``: evidence that a peer signed two checkpoints that cannot both be honest
  (both signed notes, as served and as stored), found by a sync and kept for good.

Node configuration and projections, which may change:

- ``peers``: the other monitor orgs this node trusts, their keys and where to reach them.
- ``records``: content hash -> (log, index) of each record; rebuildable from ``entries``.

Bytes that are signed or hashed are stored as bytes (``LargeBinary``), never as text, so that
no driver or collation can alter them and any stored byte can be checked.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "APPEND_ONLY_TABLES",
    "blobs",
    "checkpoints",
    "cosignatures",
    "entries",
    "equivocations",
    "logs",
    "metadata",
    "peers",
    "records",
]

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(referred_table_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)

ORIGIN = 255  # C2SP origins are short; this bounds an index key on every backend

logs = Table(
    "logs",
    metadata,
    Column("origin", String(ORIGIN), primary_key=True),
    Column("org", String(64), nullable=False),
    Column("vkey", Text, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("origin", String(ORIGIN), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    ForeignKeyConstraint(["origin"], ["logs.origin"]),
    # one B-tree in (origin, idx) order on SQLite: a log reads in one scan (migration 0003)
    sqlite_with_rowid=False,
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("origin", String(ORIGIN), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", LargeBinary, nullable=False),
    ForeignKeyConstraint(["origin"], ["logs.origin"]),
)

cosignatures = Table(
    "cosignatures",
    metadata,
    Column("origin", String(ORIGIN), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("cosigner", String(ORIGIN), primary_key=True),
    Column("key_id", BigInteger, primary_key=True, autoincrement=False),
    # 8-byte big-endian time || 64-byte Ed25519 signature, as in the cosignature line
    Column("signature", LargeBinary, nullable=False),
    ForeignKeyConstraint(["origin", "size"], ["checkpoints.origin", "checkpoints.size"]),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

equivocations = Table(
    "equivocations",
    metadata,
    Column("origin", String(ORIGIN), primary_key=True),
    # hex SHA-256 of stored_note || "\n\0" || served_note: the same evidence is kept once
    Column("evidence", String(64), primary_key=True),
    Column("stored_size", BigInteger, nullable=False),
    Column("served_size", BigInteger, nullable=False),
    Column("stored_note", LargeBinary, nullable=False),
    Column("served_note", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False),
    Column("found_by", String(64), nullable=False),
    # seconds since the Unix epoch, as the sync was given it
    Column("found_at", BigInteger, nullable=False),
)

peers = Table(
    "peers",
    metadata,
    Column("org", String(64), primary_key=True),
    Column("origin", String(ORIGIN), nullable=False),
    Column("vkey", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("cosigner_vkey", Text, nullable=True),
)

records = Table(
    "records",
    metadata,
    Column("origin", String(ORIGIN), primary_key=True),
    Column("content_hash", String(64), primary_key=True),
    Column("idx", BigInteger, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("record_id", String(128), nullable=False),
    Index("ix_records_origin_idx", "origin", "idx"),
)

APPEND_ONLY_TABLES = (
    "logs",
    "entries",
    "checkpoints",
    "cosignatures",
    "blobs",
    "equivocations",
)
"""Tables whose rows are never updated or deleted (enforced by triggers)."""
