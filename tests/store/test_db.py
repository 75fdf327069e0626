"""The store on both backends: URLs, Alembic migrations, the schema they build."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, insert, inspect, update
from sqlalchemy.exc import DBAPIError

from ceasewatch.errors import InvalidInput, NotFound
from ceasewatch.store import HEAD_REVISION, connect, current_revision, migrate, sqlite_url
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import insert_rows, select_entries
from ceasewatch.store.db import downgrade, engine_url, redact
from ceasewatch.store.schema import metadata


def test_urls() -> None:
    assert engine_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert engine_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert engine_url("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    assert redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    with pytest.raises(InvalidInput, match="SQLite or PostgreSQL"):
        engine_url("mysql://h/db")
    with pytest.raises(InvalidInput, match="psycopg"):
        engine_url("postgresql+psycopg2://h/db")
    with pytest.raises(InvalidInput, match="not a database URL"):
        engine_url("not a url")
    with pytest.raises(InvalidInput, match="in-memory"):
        connect("sqlite://")


def test_a_missing_sqlite_store_is_not_created_when_it_must_exist(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="node init"):
        connect(sqlite_url(tmp_path / "none.sqlite"), must_exist=True)
    assert not (tmp_path / "none.sqlite").exists()


def test_migrate_builds_exactly_the_schema_and_is_idempotent(db_url: str) -> None:
    engine = connect(db_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        migrate(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            assert diff == [], diff
            tables = set(inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        engine.dispose()


def test_downgrade_removes_everything_and_upgrade_rebuilds_it(db_url: str) -> None:
    engine = connect(db_url)
    try:
        migrate(engine)
        downgrade(engine, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        assert current_revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()


def test_an_unreachable_server_is_reported_without_its_password() -> None:
    engine = connect("postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
    try:
        with pytest.raises(NotFound) as err:
            migrate(engine)
        assert "hunter2" not in str(err.value) and "cannot reach" in str(err.value)
    finally:
        engine.dispose()


def test_migration_0003_keeps_an_existing_logs_entries_and_guards(db_url: str) -> None:
    """A store at 0002 with entries: 0003 keeps every row and the append-only triggers."""
    engine = connect(db_url)
    origin = "ceasewatch.mon-a.demo"
    rows = [(origin, i, bytes([i % 256]) * 32, bytes(range(256)) + b"%d" % i) for i in range(300)]
    try:
        migrate(engine, "0002")
        with engine.begin() as conn:
            conn.execute(insert(s.logs), {"origin": origin, "org": "mon-a", "vkey": "-"})
            insert_rows(conn, s.entries, ("origin", "idx", "leaf_hash", "data"), rows)
        migrate(engine)
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            assert select_entries(conn, origin, ("idx", "leaf_hash", "data")) == [
                r[1:] for r in rows
            ]
            if engine.dialect.name == "sqlite":
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'entries'"
                ).scalar_one()
                assert sql.rstrip().endswith("WITHOUT ROWID")
        for statement in (delete(s.entries), update(s.entries).values(data=b"x")):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(statement)
        downgrade(engine, "0002")
        with engine.connect() as conn:
            assert len(select_entries(conn, origin, ("idx",))) == len(rows)
    finally:
        engine.dispose()
