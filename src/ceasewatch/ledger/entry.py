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
import hashlib
import json
import json.scanner
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from operator import itemgetter
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
    "parse_entries",
    "parse_entries_hashed",
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
    if kind is dict:
        return _prepare_dict(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float:
        return _prepare_float(value)
    if kind is int:
        if -_MAX_SAFE < value < _MAX_SAFE:
            return value
        raise _Slow
    if kind is list or kind is tuple:
        return [_prepare(v) for v in value]
    raise _Slow  # subclasses (enums, ...) and anything else: the reference implementation


def _prepare_float(value: float) -> int | float:
    if value.is_integer():
        # below 2^53 every integer is a double, so its digits are the shortest ones
        if -_MAX_SAFE < value < _MAX_SAFE:
            return int(value)
        raise _Slow
    if 1e-4 <= abs(value) < 1e16:
        return value
    raise _Slow


def _prepare_dict(value: dict[Any, Any]) -> dict[str, Any]:
    # `_prepare` of each member with the scalar cases inline (records are flat objects, and a
    # call per member was most of the cost of canonicalising them); every key a str, all of
    # them ASCII, checked in one join
    try:
        ascii_keys = "".join(value).isascii()
    except TypeError:
        raise _Slow from None
    if not ascii_keys:
        raise _Slow
    out = value.copy()
    for key, item in value.items():
        kind = type(item)
        if kind is float:
            if item.is_integer():
                if not -_MAX_SAFE < item < _MAX_SAFE:
                    raise _Slow
                out[key] = int(item)
            elif not 1e-4 <= abs(item) < 1e16:
                raise _Slow
        elif kind is int:
            if not -_MAX_SAFE < item < _MAX_SAFE:
                raise _Slow
        elif kind is not str and kind is not bool and item is not None:
            out[key] = _prepare(item)
    return out


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


@functools.lru_cache(maxsize=256)
def _member(name: str) -> bytes:
    """``"name":`` of a body member (an ASCII name, checked once per name)."""
    if not name.isascii():
        raise InvalidInput("entry body member names must be ASCII")
    return _text(name) + b":"


@functools.lru_cache(maxsize=4096)
def _head(author: str) -> bytes:
    return b'{"author":' + _text(author) + b',"body":{'


@functools.lru_cache(maxsize=4096)
def _tail(kind: str, origin: str, time: str) -> bytes:
    return (
        b',"kind":' + _text(kind) + b',"origin":' + _text(origin) + b',"time":' + _text(time) + b"}"
    )


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
    names = [_member(name) for name, _ in members]
    if isinstance(index, bool) or not 0 <= index < _MAX_SAFE:
        raise InvalidInput(f"entry index {index!r} is not an integer in 0..2^53-1")
    parts = [_head(author)]
    for i, (name, (_, raw)) in enumerate(zip(names, members, strict=True)):
        parts += [b"," if i else b"", name, raw]
    parts += [b'},"index":', b"%d" % index, _tail(kind, origin, time)]
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
        # type() first: isinstance against the Mapping ABC is slow, and parsed JSON is a dict
        return rec if type(rec) is dict or isinstance(rec, Mapping) else None

    @property
    def blob_sha256(self) -> str | None:
        """Hex SHA-256 of the raw file the record came from, if any."""
        source = self.body.get("source")
        if source is None:
            return None
        if (type(source) is dict or isinstance(source, Mapping)) and isinstance(
            source.get("sha256"), str
        ):
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


# -- many entries at once -------------------------------------------------------------------


class _Odd:
    """A number that the C encoder would not write back in RFC 8785 form (see `_float`)."""

    __slots__ = ()


_ODD = _Odd()  # the encoder cannot serialise it: the entry goes to `Entry.parse`


def _float(text: str) -> float | _Odd:
    # canonical text never holds an integral float (RFC 8785 writes 6, not 6.0), and outside
    # 1e-4 <= |x| < 1e16 Python's repr and ECMAScript's differ: both would re-encode wrongly
    value = float(text)
    if value.is_integer() or not 1e-4 <= abs(value) < 1e16:
        return _ODD
    return value


def _int(text: str) -> int | _Odd:
    value = int(text)
    return value if -_MAX_SAFE < value < _MAX_SAFE else _ODD  # RFC 8785 refuses the others


_DECODER: Any = json.JSONDecoder(parse_float=_float, parse_int=_int)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_DECODER)
"""The C scanner of `json`: (text, position) -> (the JSON value there, where it ends)."""

_NON_BMP = re.compile(rb"[\xf0-\xf4]")
"""The lead byte of a UTF-8 character outside the BMP: with them, Python's key order (code
points) and RFC 8785's (UTF-16 code units) can differ."""


@functools.lru_cache(maxsize=4096)
def _entry_time(text: str) -> datetime | None:
    """The time of an entry whose time text is the one `format_time` writes, else None."""
    try:
        t = parse_time(text)
    except ValueError:
        return None
    return t if format_time(t) == text else None


def _entry_from(value: Any) -> Entry | None:
    """The entry of a canonical entry's parsed value, or None where `Entry.parse` would refuse."""
    if type(value) is not dict or value.keys() != _ENTRY_KEYS:
        return None
    origin, index, time, kind = value["origin"], value["index"], value["time"], value["kind"]
    body, author = value["body"], value["author"]
    if (
        type(origin) is not str
        or not origin
        or type(index) is not int
        or index < 0
        or type(kind) is not str
        or not _KIND.fullmatch(kind)
        or type(body) is not dict
        or type(author) is not str
        or not author
        or type(time) is not str
    ):
        return None
    t = _entry_time(time)
    return None if t is None else Entry(origin, index, t, kind, body, author)


def _canonical_values(datas: Sequence[bytes]) -> list[Any]:
    """Each entry's parsed value where its bytes are one canonical JSON value, else `_NO`.

    Every text is read whole by the C scanner (numbers the encoder would not write back as
    RFC 8785 does become `_ODD`), then all of them are serialised again in one call and
    compared with the joined texts: each text was read whole, so the serialisations line up
    with the texts and the comparison holds for each one. Texts with characters outside the
    BMP are left to `Entry.parse`.
    """
    n = len(datas)
    try:
        texts = list(map(bytes.decode, datas))
        scanned = list(map(_SCAN, texts, repeat(0)))  # a StopIteration just ends the list
    except ValueError:  # UnicodeDecodeError, JSONDecodeError
        scanned = []
    if len(scanned) != n:  # some entry does not even parse: find out which, one by one
        return [_canonical_value(d) for d in datas]
    ok = [
        i
        for i, (end, size, data) in enumerate(
            zip(map(itemgetter(1), scanned), map(len, texts), datas, strict=True)
        )
        if end == size and (data.isascii() or _NON_BMP.search(data) is None)
    ]
    values = [scanned[i][0] for i in ok]
    try:
        same = _ENCODER.encode(values) == "[" + ",".join([texts[i] for i in ok]) + "]"
    except (ValueError, TypeError):  # NaN or infinity, or an `_ODD` number
        same = False
    out: list[Any] = [_NO] * n
    if same:
        for i, value in zip(ok, values, strict=True):
            out[i] = value
        return out
    for i, value in zip(ok, values, strict=True):
        try:
            if _ENCODER.encode(value) == texts[i]:
                out[i] = value
        except (ValueError, TypeError):
            continue
    return out


def _canonical_value(data: bytes) -> Any:
    try:
        text = data.decode()
        value, end = _SCAN(text, 0)
        if end == len(text) and _NON_BMP.search(data) is None and _ENCODER.encode(value) == text:
            return value
    except (ValueError, TypeError, StopIteration):
        pass
    return _NO


_NO = object()


def parse_entries(datas: Sequence[bytes]) -> list[Entry | InvalidInput]:
    """`Entry.parse` of each of ``datas``: the entry, or the `InvalidInput` it raises.

    The same results, in bulk: the texts are read by the C scanner and serialised again in
    one call (see `_canonical_values`), so a sound entry costs one C parse and one C
    serialisation instead of a round through `Entry.canonical`. Whatever that path cannot
    vouch for goes through `Entry.parse` itself, which says what is wrong.
    """
    return [p if isinstance(p, InvalidInput) else p[0] for p in _parse_many(datas, False)]


def parse_entries_hashed(datas: Sequence[bytes]) -> list[tuple[Entry, str | None] | InvalidInput]:
    """`parse_entries`, each entry with its record's content hash (None: it holds none).

    The content hash is the hex SHA-256 of the record in RFC 8785 form, as
    `Record.content_hash` gives it for the record the entry carries.
    """
    return _parse_many(datas, True)


def _parse_many(
    datas: Sequence[bytes], hashed: bool
) -> list[tuple[Entry, str | None] | InvalidInput]:
    values = _canonical_values(datas)
    out: list[tuple[Entry, str | None] | InvalidInput] = []
    for data, value in zip(datas, values, strict=True):
        entry = None if value is _NO or len(data) > MAX_ENTRY_BYTES else _entry_from(value)
        if entry is not None:
            # a canonical entry's record is canonical as the encoder writes it: the entry's
            # text is its encoding, record included, with no number or character on which
            # the encoder and RFC 8785 differ (see `_canonical_values`)
            rec = entry.body.get("record")
            raw = _ENCODER.encode(rec).encode() if hashed and type(rec) is dict else None
        else:
            try:
                entry = Entry.parse(data)
            except InvalidInput as exc:
                out.append(exc)
                continue
            rec = entry.record
            raw = canonical_bytes(rec) if hashed and rec is not None else None
        out.append((entry, None if raw is None else hashlib.sha256(raw).hexdigest()))
    return out


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
