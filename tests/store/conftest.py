"""The ``db_url`` fixture: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: the server at $CEASEWATCH_TEST_PG (default
``postgresql://postgres@127.0.0.1:5432/postgres``) if it answers, otherwise a throwaway
server started with ``initdb``/``pg_ctl`` when they are on PATH. One throwaway database is
created for the session and dropped after it; each test gets its own schema in it (through
``search_path``), dropped after the test. When no server can be had, the PostgreSQL cases are
skipped with the reason, never passed silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _can_connect(url: str) -> str | None:
    """None if the server answers, else why not."""
    try:
        with psycopg.connect(_conninfo(url), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(base: Path) -> tuple[str | None, str, Path | None]:
    """Start a private server; (URL or None, why not, data dir to stop)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        return None, "initdb/pg_ctl not on PATH", None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return None, "initdb refuses to run as root", None
    data = base / "pgdata"
    port = _free_port()
    try:
        subprocess.run(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "pg.log"), "-w", "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not start a PostgreSQL server ({exc})", None
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", "", data


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """URL of a throwaway PostgreSQL database for this session, or None (with the reason)."""
    admin = os.environ.get("CEASEWATCH_TEST_PG", DEFAULT_PG)
    started: Path | None = None
    why = _can_connect(admin)
    if why is not None:
        url, reason, started = _start_server(tmp_path_factory.mktemp("pg"))
        if url is None:
            pytest.skip(f"no PostgreSQL server: {admin} refused ({why}); {reason}")
        admin = url
    name = f"ceasewatch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if started is not None:
            pg_ctl = shutil.which("pg_ctl")
            assert pg_ctl is not None
            subprocess.run([pg_ctl, "-D", str(started), "-m", "fast", "stop"], check=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    base = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{base}?options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(_conninfo(base), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
