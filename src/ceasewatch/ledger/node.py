"""A node: one org's data directory, its signing key, its store and its own log.

A node's data directory holds::

    node.toml            org, log origin, theater copy, and the store URL if not the default
    keys/<org>.skey      the org's Ed25519 note key, mode 0600 (refused if group/world readable)
    theater/             a copy of the theater the node was created for
    store.sqlite         the default store (SQLite, WAL, synchronous=FULL)

The node is the one writer of its org's log (DESIGN.md invariant 2): `ceasewatch.ledger.append`
appends to it, `ceasewatch.ledger.peers` records the other monitors, `ceasewatch.ledger.verify`
checks the whole store and proves entries. Mirroring other orgs' logs (sync), the cosignature
exchange, serving and rebuilding the projection build on `Node` and the store tables.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection, Engine, func, insert, select

from ceasewatch.errors import Conflict, IntegrityError, InvalidInput, NotFound
from ceasewatch.geo.theater import Theater, load_theater
from ceasewatch.ledger._bulk import packed
from ceasewatch.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ceasewatch.ledger.entry import log_origin
from ceasewatch.ledger.keys import create_key, key_path, load_key
from ceasewatch.ledger.merkle import EMPTY_ROOT, HASH_SIZE, MerkleTree
from ceasewatch.ledger.note import Ed25519Signer
from ceasewatch.store import schema as s
from ceasewatch.store.bulk import select_entries
from ceasewatch.store.db import HEAD_REVISION, connect, current_revision, migrate, sqlite_url

__all__ = [
    "NODE_FILE",
    "Node",
    "NodeConfig",
    "init_node",
    "log_size",
    "open_node",
    "stored_tree",
]

NODE_FILE = "node.toml"
_PAGE = 50_000  # leaf hashes read per query
DEFAULT_STORE = "store.sqlite"
THEATER_DIR = "theater"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """What node.toml says.

    Attributes:
        org: the org whose log this node writes.
        origin: that log's origin (`ceasewatch.ledger.entry.log_origin`).
        theater: the theater copy, relative to the data directory.
        db_url: the store URL; None means SQLite at ``<data>/store.sqlite``.
    """

    org: str
    origin: str
    theater: str = THEATER_DIR
    db_url: str | None = None

    def to_toml(self) -> str:
        # json.dumps of a str is a valid TOML basic string (same escapes, ASCII only)
        lines = [
            "# A ceasewatch node, written by `ceasewatch node init`.",
            f"org = {json.dumps(self.org)}",
            f"origin = {json.dumps(self.origin)}",
            f"theater = {json.dumps(self.theater)}",
        ]
        if self.db_url is not None:
            lines.append(f"db = {json.dumps(self.db_url)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def read(cls, path: Path) -> NodeConfig:
        """Read node.toml.

        Raises:
            NotFound: no node.toml there.
            InvalidInput: it is not a node configuration.
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(
                f"{path.parent} is not a ceasewatch node (no {NODE_FILE}); "
                "create one with `ceasewatch node init`"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{path}: not valid TOML ({exc})") from None
        values = {k: data.get(k) for k in ("org", "origin", "theater", "db")}
        for key in ("org", "origin"):
            if not isinstance(values[key], str) or not values[key]:
                raise InvalidInput(f'{path}: needs {key} = "..."')
        theater = values["theater"] if isinstance(values["theater"], str) else THEATER_DIR
        db = values["db"] if isinstance(values["db"], str) and values["db"] else None
        return cls(str(values["org"]), str(values["origin"]), theater, db)


class Node:
    """An open node. Use `init_node` or `open_node`; close it (or use ``with``)."""

    def __init__(self, data_dir: Path, config: NodeConfig, engine: Engine) -> None:
        self.data_dir = Path(data_dir)
        self.config = config
        self.engine = engine
        self._signer: Ed25519Signer | None = None
        self._theater: Theater | None = None
        self._tree: MerkleTree | None = None

    def forget_tree(self) -> None:
        """Drop the cached tree (after a rolled-back append); it is reloaded when needed."""
        self._tree = None

    @property
    def org(self) -> str:
        return self.config.org

    @property
    def origin(self) -> str:
        return self.config.origin

    @property
    def key_file(self) -> Path:
        return key_path(self.data_dir / "keys", self.org)

    def signer(self) -> Ed25519Signer:
        """The org's signing key (read on first use; refused if its file is not 0600)."""
        if self._signer is None:
            self._signer = load_key(self.key_file, self.origin)
        return self._signer

    def theater(self) -> Theater:
        """The node's copy of the theater."""
        if self._theater is None:
            self._theater = load_theater(self.data_dir / self.config.theater)
        return self._theater

    def vkey(self) -> str:
        """The org's verifier key (``<origin>+<key id>+<base64>``): all a peer needs."""
        with self.engine.connect() as conn:
            vkey = conn.execute(select(s.logs.c.vkey).where(s.logs.c.origin == self.origin))
            value = vkey.scalar_one_or_none()
        if value is None:
            raise NotFound(f"the store holds no log {self.origin}; is --db the node's store?")
        return str(value)

    def size(self) -> int:
        """How many entries the node's own log holds."""
        with self.engine.connect() as conn:
            return log_size(conn, self.origin)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def own_tree(self, conn: Connection) -> MerkleTree:
        """The own log's tree, checked once against the latest signed checkpoint, then cached.

        Signing a new checkpoint over a tree that no longer matches the last one would launder
        tampering, so an append refuses to go on when they differ.
        """
        size = log_size(conn, self.origin)
        if self._tree is not None and self._tree.size == size:
            return self._tree
        tree = stored_tree(conn, self.origin)
        latest = conn.execute(
            select(s.checkpoints.c.note)
            .where(s.checkpoints.c.origin == self.origin)
            .order_by(s.checkpoints.c.size.desc())
            .limit(1)
        ).scalar_one_or_none()
        if latest is None:
            raise IntegrityError(f"log {self.origin} has no signed checkpoint; run `verify`")
        cp = open_checkpoint(bytes(latest), self.signer().verifier()).checkpoint
        if cp.size != tree.size or tree.root_at(cp.size) != cp.root_hash:
            raise IntegrityError(
                f"log {self.origin}: the stored entries ({tree.size}) do not match the latest "
                f"signed checkpoint (size {cp.size}); nothing appended; run `ceasewatch verify`"
            )
        self._tree = tree
        return tree


def stored_tree(conn: Connection, origin: str, end: int | None = None) -> MerkleTree:
    """The Merkle tree of a log's stored leaf hashes (of entries below ``end``, if given).

    The stored hashes are taken as they are (`ceasewatch.ledger.verify` checks them); read in
    pages of plain tuples, for logs of millions of entries.
    """
    tree = MerkleTree()
    stop = log_size(conn, origin) if end is None else end
    for start in range(0, stop, _PAGE):
        rows = select_entries(conn, origin, ("leaf_hash",), start, min(stop, start + _PAGE))
        hashes = packed(rows, HASH_SIZE, 0)  # None: a stored hash is not 32 bytes long
        if hashes is None:
            tree.extend([bytes(r[0]) for r in rows])  # raises InvalidInput saying which
        else:
            tree.extend_packed(hashes)
    return tree


def log_size(conn: Connection, origin: str) -> int:
    last = conn.execute(
        select(func.max(s.entries.c.idx)).where(s.entries.c.origin == origin)
    ).scalar_one_or_none()
    return 0 if last is None else int(last) + 1


def _write_private(path: Path, text: str) -> None:
    """Write a file with mode 0600 atomically (node.toml may hold a database password)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _engine_for(data_dir: Path, config: NodeConfig, db_url: str | None, *, create: bool) -> Engine:
    url = db_url or config.db_url
    if url is None:
        return connect(sqlite_url(data_dir / DEFAULT_STORE), must_exist=not create)
    return connect(url)


def init_node(data_dir: Path, org: str, theater_dir: Path, *, db_url: str | None = None) -> Node:
    """Create a node of ``org``: key (mode 0600), store, theater copy, empty signed log.

    Args:
        data_dir: the node's directory (created; must not hold a node already).
        org: the org id; the theater must list it.
        theater_dir: the theater directory to copy.
        db_url: ``postgresql://...`` to keep the store in PostgreSQL; SQLite in ``data_dir``
            if None.

    Raises:
        Conflict: there is a node here already, or the store already holds this org's log.
        InvalidInput: the theater has errors or does not list ``org``.
    """
    data_dir = Path(data_dir)
    if (data_dir / NODE_FILE).exists():
        raise Conflict(f"{data_dir} is a node already ({NODE_FILE} exists)")
    theater = load_theater(Path(theater_dir))
    if org not in theater.orgs:
        known = ", ".join(sorted(theater.orgs))
        raise InvalidInput(f"org {org!r} is not in theater {theater.name!r}; its orgs: {known}")
    origin = log_origin(org, theater.name)
    config = NodeConfig(org, origin, THEATER_DIR, db_url)
    copy = data_dir / THEATER_DIR
    if copy.exists():
        raise Conflict(f"{copy} exists; use an empty data directory")
    if key_path(data_dir / "keys", org).exists():
        raise Conflict(f"{key_path(data_dir / 'keys', org)} exists; a key is never overwritten")
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = _engine_for(data_dir, config, None, create=True)
    try:
        migrate(engine)
        with engine.connect() as conn:
            found = conn.execute(select(s.logs.c.origin).where(s.logs.c.origin == origin))
            if found.first() is not None:
                raise Conflict(f"the store already holds log {origin}; give another --db")
        shutil.copytree(theater.root, copy)
        signer = create_key(key_path(data_dir / "keys", org), origin)
        empty = sign_checkpoint(Checkpoint(origin, 0, EMPTY_ROOT), signer)
        with engine.begin() as conn:
            vkey = signer.verifier().vkey()
            conn.execute(insert(s.logs), {"origin": origin, "org": org, "vkey": vkey})
            conn.execute(
                insert(s.checkpoints),
                {"origin": origin, "size": 0, "note": empty.encode("utf-8")},
            )
        _write_private(data_dir / NODE_FILE, config.to_toml())
    except BaseException:
        engine.dispose()
        raise
    node = Node(data_dir, config, engine)
    node._signer = signer
    node._theater = theater
    return node


def open_node(data_dir: Path, *, db_url: str | None = None) -> Node:
    """Open the node in ``data_dir`` (migrating its store to the current schema if behind).

    Args:
        data_dir: the node's directory.
        db_url: overrides node.toml's store URL (e.g. to pass a password from the environment).

    Raises:
        NotFound: no node there, or its store does not hold its log.
    """
    data_dir = Path(data_dir)
    config = NodeConfig.read(data_dir / NODE_FILE)
    engine = _engine_for(data_dir, config, db_url, create=False)
    try:
        if current_revision(engine) != HEAD_REVISION:
            migrate(engine)
        node = Node(data_dir, config, engine)
        node.vkey()  # the store must hold the log
    except BaseException:
        engine.dispose()
        raise
    return node
