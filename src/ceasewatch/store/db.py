"""Connecting to the store and migrating it: SQLite by default, PostgreSQL by URL.

The same code runs on both. SQLite is put in WAL mode with ``synchronous=FULL``, so that a
committed ingest survives a power cut (https://www.sqlite.org/pragma.html#pragma_synchronous),
and with foreign keys on; it is read through a memory map. ``postgresql://`` URLs are served
by psycopg 3. The schema is
created and upgraded by Alembic only (`migrate`), never by ``metadata.create_all``, so that
every store has passed through the same revisions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from ceasewatch.errors import InvalidInput, NotFound

__all__ = [
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "connect",
    "current_revision",
    "downgrade",
    "engine_url",
    "migrate",
    "redact",
    "sqlite_url",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD_REVISION = "0003"
"""The revision `migrate` brings a store to."""


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite database file."""
    return f"sqlite:///{Path(path).resolve()}"


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a user's URL: ``postgresql://`` means psycopg 3.

    Raises:
        InvalidInput: not a SQLite or PostgreSQL URL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(
            f"{redact(url)} is not a database URL; use sqlite:///path or postgresql://user@host/db"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        if driver not in ("", "psycopg"):
            raise InvalidInput(f"{redact(url)}: only the psycopg driver is supported")
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise InvalidInput(f"{redact(url)}: the store runs on SQLite or PostgreSQL only")
    return parsed.render_as_string(hide_password=False)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


_MMAP_SIZE = 1 << 34
"""Bytes of a SQLite store read through a memory map (16 GiB; SQLite caps it)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level; SQLAlchemy's "begin" event below opens transactions,
    # so BEGIN/COMMIT are exactly where SQLAlchemy says (the pysqlite recipe).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # a page cache of 64 MiB instead of 2 MiB: the indexes of a log of millions of entries
    # (records by content hash, inserted in no particular order) then stay in memory
    cur.execute("PRAGMA cache_size=-65536")
    # reads through a memory map instead of a read() per page: a scan of a log or of the
    # blobs (verify, sync, proofs) then copies nothing out of the OS page cache; writes still
    # go through the journal. SQLite caps the size at its build's maximum (2 GiB by default)
    # and reads the rest of a larger file as before.
    cur.execute(f"PRAGMA mmap_size={_MMAP_SIZE}")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def connect(url: str, *, must_exist: bool = False) -> Engine:
    """An engine for a store URL (see `engine_url`).

    Args:
        url: ``sqlite:///path`` or ``postgresql://...``.
        must_exist: refuse a SQLite file that does not exist yet (instead of creating it).

    Raises:
        InvalidInput: the URL is not one the store supports.
        NotFound: ``must_exist`` and there is no such SQLite file.
    """
    full = make_url(engine_url(url))
    if full.get_backend_name() == "sqlite":
        db = full.database
        if not db or db == ":memory:":
            raise InvalidInput("the store needs a SQLite file, not an in-memory database")
        if must_exist and not Path(db).exists():
            raise NotFound(f"no store at {db}; create it with `ceasewatch node init`")
        engine = create_engine(full)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(full, pool_pre_ping=True)


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the store's schema to ``revision`` (Alembic), in one transaction.

    Raises:
        NotFound: the database cannot be reached (the message says which, without password).
    """
    from alembic import command

    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
    except OperationalError as exc:
        raise NotFound(f"cannot reach the store {redact(str(engine.url))}: {exc.orig}") from None


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` ("base": nothing). Drops data: for tests and
    for undoing a failed upgrade, never for a store that holds a ledger."""
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The store's Alembic revision (None: not a ceasewatch store, or empty)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return None if row is None else str(row[0])
