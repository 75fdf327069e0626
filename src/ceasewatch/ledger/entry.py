"""Entries of an org's log, and self-contained excerpts that prove one entry to anyone.

An entry is the RFC 8785 canonical JSON (JSON Canonicalization Scheme) of::

    {"origin": <the log's origin>, "index": <its position, from 0>,
     "time": <ingest time, ISO 8601 UTC>, "kind": <record type>,
     "body": {"record": <Record.as_json()>,
              "source": {"sha256": <hex SHA-256 of the raw file>, "line": <line in it>},
              "supersedes": <hex leaf hash of an earlier entry, only in a correction>},
     "author": <org id>}

Those bytes are the leaf data of the log's RFC 9162 Merkle tree: the entry's hash is
``SHA-256(0x00 || bytes)`` (`ceasewatch.ledger.merkle.leaf_hash`), and a correction names the
entry it supersedes by that hash. Putting origin and index inside the leaf binds each entry to
its one place in its one log, so a proof for it can never be replayed against another position.

A log's origin is ``ceasewatch.<org id>.<slug of the theater name>`` (`log_origin`): stable for
the life of the log, unique per org and theater, and usable as the name of the org's note key,
so that a C2SP checkpoint's origin line and its signer's key name are the same string.

An `Excerpt` is everything a third party needs to check one entry with the org's verifier key
alone: the entry bytes, an inclusion proof and a signed checkpoint (`verify_excerpt`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger.checkpoint import open_checkpoint
from ceasewatch.ledger.merkle import leaf_hash, verify_inclusion
from ceasewatch.ledger.note import Ed25519Verifier
from ceasewatch.records.base import canonical_json
from ceasewatch.records.types import format_time, parse_time

__all__ = [
    "EXCERPT_FORMAT",
    "Entry",
    "Excerpt",
    "canonical_bytes",
    "check_hex_hash",
    "entry_bytes",
    "log_origin",
    "slug",
    "verify_excerpt",
]

EXCERPT_FORMAT = "ceasewatch-excerpt/v1"
"""The ``format`` member of a serialised `Excerpt`."""

_ENTRY_KEYS = frozenset({"origin", "index", "time", "kind", "body", "author"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_ENTRY_BYTES = 1 << 20
"""Largest entry accepted (1 MiB): records are small; a huge one is an error or an attack."""


class _Slow(Exception):
    """A value the fast path does not handle; `canonical_json` does."""


_MAX_SAFE = 2**53
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _prepare(value: Any) -> Any:
    """``value`` with every float that is an integer turned into an int, if the fast path fits.

    With sorted keys, no spaces and literal UTF-8, Python's C JSON encoder writes the same
    text as RFC 8785 for: strings (both escape only ``"``, ``\\`` and control characters, the
    same way), integers within +-2^53, objects whose keys are ASCII (code-point order is then
    UTF-16 order), and floats whose shortest repr is in fixed notation in both Python and
    ECMAScript (1e-4 <= |x| < 1e16) once integral floats are written as integers (ECMAScript
    prints 6.0 as 6). Anything else raises `_Slow`.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float:
        if value.is_integer():
            # below 2^53 every integer is a double, so its digits are the shortest ones
            if -_MAX_SAFE < value < _MAX_SAFE:
                return int(value)
            raise _Slow
        if 1e-4 <= abs(value) < 1e16:
            return value
        raise _Slow
    if kind is int:
        if -_MAX_SAFE < value < _MAX_SAFE:
            return value
        raise _Slow
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise _Slow
            out[key] = _prepare(item)
        return out
    if kind is list or kind is tuple:
        return [_prepare(v) for v in value]
    raise _Slow  # subclasses (enums, ...) and anything else: the reference implementation


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 canonical JSON of ``value``: the bytes `canonical_json` gives, faster.

    The ledger canonicalises every record it appends; `rfc8785` is pure Python and would
    limit ingest to a few thousand entries a second. The common cases go through Python's C
    encoder (see `_prepare`); everything else, and every error, through `canonical_json`.
    Property tests compare the two.
    """
    try:
        return _ENCODER.encode(_prepare(value)).encode("utf-8")
    except (_Slow, ValueError, UnicodeEncodeError):
        return canonical_json(value)


@functools.lru_cache(maxsize=4096)
def _text(value: str) -> bytes:
    # origin, author, kind and time repeat across a batch: serialise each once
    return canonical_bytes(value)


def entry_bytes(  # noqa: PLR0917 - the entry's six fields, in their documented order
    origin: str,
    index: int,
    time: str,
    kind: str,
    body: Mapping[str, bytes],
    author: str,
) -> bytes:
    """The canonical bytes of an entry from the canonical bytes of its body's members.

    The same bytes as `Entry.canonical` (RFC 8785 is compositional: a member's text does not
    depend on its siblings), without serialising a record twice when its bytes are already
    known from its content hash.

    Args:
        origin, index, time, kind, author: the entry's fields (``time`` as `format_time` writes).
        body: {member name (ASCII): its canonical JSON bytes}.
    """
    members = sorted(body.items())
    if any(not name.isascii() for name, _ in members):
        raise InvalidInput("entry body member names must be ASCII")
    if isinstance(index, bool) or not 0 <= index < _MAX_SAFE:
        raise InvalidInput(f"entry index {index!r} is not an integer in 0..2^53-1")
    parts = [b'{"author":', _text(author), b',"body":{']
    for i, (name, raw) in enumerate(members):
        parts += [b"," if i else b"", _text(name), b":", raw]
    parts += [
        b'},"index":',
        str(index).encode("ascii"),
        b',"kind":',
        _text(kind),
        b',"origin":',
        _text(origin),
        b',"time":',
        _text(time),
        b"}",
    ]
    return b"".join(parts)


def slug(text: str) -> str:
    """Lowercase ASCII letters and digits, every other run of characters one hyphen."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out or "theater"


def log_origin(org: str, theater_name: str) -> str:
    """The origin of ``org``'s log in the theater named ``theater_name``.

    ``ceasewatch.<org>.<slug>``; e.g. ``ceasewatch.mon-a.demo-theater-illustrative``.
    """
    if not re.fullmatch(r"[a-z0-9-]+", org):
        raise InvalidInput(f"{org!r} is not an org id: use lowercase letters, digits and '-'")
    return f"ceasewatch.{org}.{slug(theater_name)}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a log (see the module docstring for its JSON form).

    Attributes:
        origin: the log's origin.
        index: its position in the log, from 0.
        time: when the org appended it (UTC).
        kind: the record type ("sighting", ...).
        body: the record, where it came from, and what it supersedes.
        author: the org id of the log's owner.
    """

    origin: str
    index: int
    time: datetime
    kind: str
    body: Mapping[str, Any]
    author: str

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON-compatible data."""
        return {
            "origin": self.origin,
            "index": self.index,
            "time": format_time(self.time),
            "kind": self.kind,
            "body": dict(self.body),
            "author": self.author,
        }

    def canonical(self) -> bytes:
        """The RFC 8785 bytes: the Merkle leaf data."""
        return canonical_bytes(self.as_json())

    def leaf_hash(self) -> bytes:
        """The entry's RFC 9162 leaf hash (its identity in the log)."""
        return leaf_hash(self.canonical())

    @property
    def record(self) -> Mapping[str, Any] | None:
        """The record's JSON (`Record.as_json()`), if the entry carries one."""
        rec = self.body.get("record")
        return rec if isinstance(rec, Mapping) else None

    @property
    def blob_sha256(self) -> str | None:
        """Hex SHA-256 of the raw file the record came from, if any."""
        source = self.body.get("source")
        if isinstance(source, Mapping) and isinstance(source.get("sha256"), str):
            return str(source["sha256"])
        return None

    @property
    def supersedes(self) -> str | None:
        """Hex leaf hash of the entry this one corrects, if it is a correction."""
        value = self.body.get("supersedes")
        return value if isinstance(value, str) else None

    @classmethod
    def parse(cls, data: bytes) -> Entry:
        """Read entry bytes strictly: JSON, exactly the six members, and canonical form.

        Raises:
            InvalidInput: the bytes are not an entry, or not in RFC 8785 canonical form
                (the same entry must always have the same bytes, hence the same hash).
        """
        if len(data) > MAX_ENTRY_BYTES:
            raise InvalidInput(f"entry is {len(data)} bytes, more than {MAX_ENTRY_BYTES}")
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidInput(f"entry is not UTF-8 JSON ({exc})") from None
        if not isinstance(value, dict) or set(value) != _ENTRY_KEYS:
            keys = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise InvalidInput(f"entry must be an object with {sorted(_ENTRY_KEYS)}, not {keys}")
        origin, index, time, kind = value["origin"], value["index"], value["time"], value["kind"]
        body, author = value["body"], value["author"]
        if not isinstance(origin, str) or not origin:
            raise InvalidInput("entry origin must be a non-empty string")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidInput(f"entry index {index!r} is not a non-negative integer")
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise InvalidInput(f"entry kind {kind!r} is not a lowercase word")
        if not isinstance(body, dict):
            raise InvalidInput("entry body must be an object")
        if not isinstance(author, str) or not author:
            raise InvalidInput("entry author must be a non-empty string")
        try:
            t = parse_time(time)
        except ValueError as exc:
            raise InvalidInput(f"entry time: {exc}") from None
        entry = cls(origin, index, t, kind, body, author)
        try:
            again = entry.canonical()
        except (ValueError, TypeError) as exc:  # rfc8785 refuses e.g. integers beyond 2^53
            raise InvalidInput(f"entry cannot be canonicalised ({exc})") from None
        if again != data:
            raise InvalidInput("entry bytes are not in RFC 8785 canonical form")
        return entry


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidInput(f"excerpt {what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise InvalidInput(f"excerpt {what} is not valid base64") from None


@dataclass(frozen=True, slots=True)
class Excerpt:
    """One entry with the proof that a signed checkpoint includes it.

    Attributes:
        origin: the log's origin.
        index: the entry's index.
        entry: the entry bytes (the Merkle leaf data).
        proof: the RFC 9162 inclusion proof to the checkpoint's root, leaf side first.
        checkpoint: the signed checkpoint note (C2SP tlog-checkpoint), cosignatures included.
    """

    origin: str
    index: int
    entry: bytes
    proof: tuple[bytes, ...]
    checkpoint: str

    def to_json(self) -> str:
        """The excerpt as a JSON document (what `ceasewatch ledger prove` prints)."""
        doc = {
            "format": EXCERPT_FORMAT,
            "origin": self.origin,
            "index": self.index,
            "entry": _b64(self.entry),
            "proof": [_b64(p) for p in self.proof],
            "checkpoint": self.checkpoint,
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Excerpt:
        """Read an excerpt document.

        Raises:
            InvalidInput: it is not a ceasewatch excerpt.
        """
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"excerpt is not JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != EXCERPT_FORMAT:
            raise InvalidInput(f'excerpt must be a JSON object with "format": "{EXCERPT_FORMAT}"')
        origin, index, proof, note = doc.get("origin"), doc.get("index"), doc.get("proof"), None
        note = doc.get("checkpoint")
        if not isinstance(origin, str) or not isinstance(note, str):
            raise InvalidInput("excerpt needs an origin and a checkpoint (strings)")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidInput("excerpt index must be a non-negative integer")
        if not isinstance(proof, list):
            raise InvalidInput("excerpt proof must be a list of base64 hashes")
        hashes = tuple(_unb64(p, f"proof hash {i}") for i, p in enumerate(proof))
        return cls(origin, index, _unb64(doc.get("entry"), "entry"), hashes, note)


def verify_excerpt(excerpt: Excerpt | str | bytes, vkey: str) -> Entry:
    """Check an excerpt with the org's verifier key alone; return the proven entry.

    Checks, in order: the checkpoint's signature by ``vkey`` (whose name is the log origin),
    that the excerpt, the checkpoint and the entry name the same log and index, and the
    inclusion proof from the entry's leaf hash to the signed root.

    Raises:
        InvalidInput: the excerpt or the key is malformed.
        IntegrityError: a signature, an origin, an index or the proof does not check out.
    """
    ex = excerpt if isinstance(excerpt, Excerpt) else Excerpt.from_json(excerpt)
    verifier = Ed25519Verifier.from_vkey(vkey)
    signed = open_checkpoint(ex.checkpoint, verifier)
    cp = signed.checkpoint
    if ex.origin != cp.origin:
        raise IntegrityError(f"excerpt says log {ex.origin!r}, its checkpoint {cp.origin!r}")
    entry = Entry.parse(ex.entry)
    if entry.origin != cp.origin or entry.index != ex.index:
        raise IntegrityError(
            f"the entry is {entry.origin} #{entry.index}, the excerpt claims {cp.origin} "
            f"#{ex.index}"
        )
    verify_inclusion(leaf_hash(ex.entry), ex.index, cp.size, ex.proof, cp.root_hash)
    return entry


def check_hex_hash(value: str, what: str) -> str:
    """A lowercase hex SHA-256, or InvalidInput naming ``what``."""
    if not _HEX64.fullmatch(value):
        raise InvalidInput(f"{what} {value[:70]!r} is not a lowercase hex SHA-256")
    return value
