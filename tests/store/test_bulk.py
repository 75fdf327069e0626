"""Driver-level bulk writes and reads: the same rows, transaction and errors as SQLAlchemy's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from ceasewatch.store import connect, migrate
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import insert_rows, known_content_hashes, select_entries

ORIGIN = "ceasewatch.mon-a.demo"
ENTRY_COLUMNS = ("origin", "idx", "leaf_hash", "data")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = connect(db_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(insert(s.logs), {"origin": ORIGIN, "org": "mon-a", "vkey": "-"})
        yield engine
    finally:
        engine.dispose()


def _entries(n: int, first: int = 0) -> list[tuple[str, int, bytes, bytes]]:
    # every byte value, NUL included, in both binary columns
    return [
        (ORIGIN, i, bytes([i % 256]) * 32, bytes(range(256)) + b"%d" % i)
        for i in range(first, first + n)
    ]


def test_rows_go_in_and_come_back_as_written(engine: Engine) -> None:
    rows = _entries(300)
    with engine.begin() as conn:
        insert_rows(conn, s.entries, ENTRY_COLUMNS, rows)
        insert_rows(conn, s.entries, ENTRY_COLUMNS, [])
    with engine.connect() as conn:
        assert select_entries(conn, ORIGIN, ENTRY_COLUMNS) == rows
        assert select_entries(conn, ORIGIN, ("idx", "data"), 10, 13) == [
            (i, d) for _, i, _, d in rows[10:13]
        ]
        assert select_entries(conn, ORIGIN, ("idx",), 299) == [(299,)]
        assert select_entries(conn, "ceasewatch.other.demo", ("idx",)) == []
        with pytest.raises(KeyError, match="nope"):
            select_entries(conn, ORIGIN, ("nope",))


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_rolls_back(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_rows(conn, s.entries, ENTRY_COLUMNS, _entries(5))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_rows(conn, s.entries, ENTRY_COLUMNS, _entries(3, first=5))
        insert_rows(conn, s.entries, ENTRY_COLUMNS, _entries(2, first=4))  # 4 is taken
    with engine.connect() as conn:  # the whole transaction is gone, the first one kept
        count = conn.execute(select(func.count()).select_from(s.entries)).scalar_one()
        assert count == 5


def test_known_content_hashes(engine: Engine) -> None:
    hashes = [f"{i:064x}" for i in range(1200)]
    rows = [(ORIGIN, h, i, "sighting", f"s-{i}") for i, h in enumerate(hashes[::2])]
    with engine.begin() as conn:
        insert_rows(conn, s.records, ("origin", "content_hash", "idx", "kind", "record_id"), rows)
        asked = [*hashes, hashes[0], "f" * 64]
        assert known_content_hashes(conn, ORIGIN, asked) == {h: i for _, h, i, _, _ in rows}
        assert known_content_hashes(conn, "ceasewatch.other.demo", asked) == {}
        assert known_content_hashes(conn, ORIGIN, []) == {}
