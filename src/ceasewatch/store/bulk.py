"""Bulk reads and writes for the ledger's hot paths, handed to the database driver directly.

SQLAlchemy Core's ``executemany`` builds a parameter dictionary per row and runs every value
through its type's bind processor; for the 10^4 to 10^6 rows of an ingest batch, a sync or a
rebuild that costs more than the database's own work. These helpers take plain tuples and
give them to the DB-API driver on the connection SQLAlchemy already holds, inside its
transaction, so atomicity, constraints and triggers are exactly those of an ``insert()``:

- SQLite (`sqlite3`): ``executemany`` of one prepared ``INSERT``;
- PostgreSQL (psycopg 3): ``COPY ... FROM STDIN``, the bulk load path of the server.

Reads return plain tuples for one range of a log's entries (page through long logs by range).
Table and column names come from `ceasewatch.store.schema` (quoted by the dialect), never from
input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

from ceasewatch.store import schema as s

__all__ = ["insert_rows", "known_content_hashes", "select_entries"]

_IN_CHUNK = 500  # values per IN (...) list where a backend has no array parameter


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _driver(conn: Connection) -> Any:
    """The DB-API connection under ``conn`` (sqlite3 or psycopg), in its transaction."""
    return conn.connection.driver_connection


def _names(conn: Connection, table: Table, columns: Sequence[str]) -> tuple[str, str]:
    quote = conn.dialect.identifier_preparer.quote
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {unknown}")
    return quote(table.name), ", ".join(quote(c) for c in columns)


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` on ``conn``'s transaction.

    Values are what the driver takes natively: str, int, bytes (for binary columns), None.
    A driver error is raised as SQLAlchemy raises it from an ``insert()`` (e.g.
    `sqlalchemy.exc.IntegrityError` for a duplicate key), so callers handle both alike.
    """
    if not rows:
        return
    name, cols = _names(conn, table, columns)
    if _is_sqlite(conn):
        sql = f"INSERT INTO {name} ({cols}) VALUES ({', '.join('?' * len(columns))})"
        with _wrapped(conn, sql):
            cur = _driver(conn).cursor()
            try:
                cur.executemany(sql, rows)
            finally:
                cur.close()
    elif conn.dialect.name == "postgresql":
        sql = f"COPY {name} ({cols}) FROM STDIN"
        with _wrapped(conn, sql), _driver(conn).cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


@contextmanager
def _wrapped(conn: Connection, sql: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's `DBAPIError` subclasses."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc


def _run(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``?`` placeholders) on the driver; every row, as tuples."""
    if _is_sqlite(conn):
        with _wrapped(conn, sql):
            cur = _driver(conn).cursor()
            try:
                rows: list[tuple[Any, ...]] = cur.execute(sql, tuple(params)).fetchall()
            finally:
                cur.close()
        return rows
    sql = sql.replace("?", "%s")
    with _wrapped(conn, sql), _driver(conn).cursor() as pg:
        pg.execute(sql, tuple(params))
        return list(pg.fetchall())


def select_entries(
    conn: Connection, origin: str, columns: Sequence[str], start: int = 0, end: int | None = None
) -> list[tuple[Any, ...]]:
    """Columns of log ``origin``'s entries with ``start <= idx < end``, by index, as tuples.

    One range scan of the primary key; page through a long log with consecutive ranges.
    """
    name, cols = _names(conn, s.entries, columns)
    quote = conn.dialect.identifier_preparer.quote
    where = f"{quote('origin')} = ? AND {quote('idx')} >= ?"
    params: list[Any] = [origin, start]
    if end is not None:
        where += f" AND {quote('idx')} < ?"
        params.append(end)
    return _run(conn, f"SELECT {cols} FROM {name} WHERE {where} ORDER BY {quote('idx')}", params)


def known_content_hashes(conn: Connection, origin: str, hashes: Sequence[str]) -> dict[str, int]:
    """{content hash: its index} for those of ``hashes`` that log ``origin``'s records hold."""
    unique = sorted(set(hashes))
    if not unique:
        return {}
    q = conn.dialect.identifier_preparer.quote
    head = (
        f"SELECT {q('content_hash')}, {q('idx')} FROM {q(s.records.name)} "
        f"WHERE {q('origin')} = ? AND {q('content_hash')}"
    )
    if _is_sqlite(conn):
        # one parameter for the whole list, a JSON array unnested by json_each (built into
        # SQLite since 3.38), instead of thousands of placeholders
        rows = _run(
            conn, head + " IN (SELECT value FROM json_each(?))", [origin, json.dumps(unique)]
        )
    elif conn.dialect.name == "postgresql":
        rows = _run(conn, head + " = ANY(?)", [origin, unique])
    else:
        r = s.records.c
        rows = []
        for i in range(0, len(unique), _IN_CHUNK):
            query = (
                s.records.select()
                .with_only_columns(r.content_hash, r.idx)
                .where(r.origin == origin, r.content_hash.in_(unique[i : i + _IN_CHUNK]))
            )
            rows += [tuple(row) for row in conn.execute(query)]
    return {str(h): int(i) for h, i in rows}
