"""MAVLink telemetry logs (`.tlog`): stream them, check every CRC, decode what a monitor needs.

A tlog (QGroundControl, MAVProxy, Mission Planner) is a run of records: an 8-byte big-endian
timestamp (microseconds since 1970, when the ground station received the frame) and one
MAVLink 1 or MAVLink 2 frame, as pymavlink's `mavlogfile` writes them. Frames follow
mavlink.io/en/guide/serialization.html: magic 0xFE (v1) or 0xFD (v2), a header, the payload
(MAVLink 2 trims trailing zero bytes; a reader zero-extends), a CRC-16/MCRF4XX ("X.25") over
every byte after the magic plus the message's CRC_EXTRA, and in MAVLink 2 a 13-byte signature
when incompat flag 0x01 is set. Message ids, CRC_EXTRA values and payload layouts are those of
common.xml (with standard.xml) and ardupilotmega.xml as pymavlink 2.4.50 generates them; they
live in `_mavlink_defs.py`, and tests/ingest/test_mavlink_spec.py checks them against pymavlink.

How it goes fast, with no Python loop per frame: every position of a chunk whose byte 8 on
is a valid header is linked to the record after it, and the chain of records from a known
start is followed with pointers 2**k records ahead; the CRCs of all frames of one length are
computed together, 16 bits per table lookup; the payloads of one message type are gathered,
zero-extended and viewed as a packed structured dtype, then scaled to SI units. Only the
current chunk (and at most two records carried into the next) is held, so memory does not
grow with the file; any chunk size gives the same answer.

Damage is counted, never fatal. A frame whose CRC fails is a CRC error when the next record
starts where its length says and is sound, with a timestamp within a day of its own (so the
length byte was right); otherwise its bytes are bad data and the reader resynchronises at
the next position that holds a frame whose CRC checks (or, for an id not in the table, that
is followed by another frame). Every byte of the file ends up in exactly one of: a frame,
`bad_data_bytes`, `truncated_tail_bytes`.

The code is cut in three: `_mavlink_frames` finds records and checks CRCs,
`_mavlink_batch` decodes payloads and counts, and this module streams a file through them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import IO, Final, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest._mavlink_batch import MAX_PROBLEMS as MAX_PROBLEMS  # noqa: PLC0414
from ceasewatch.ingest._mavlink_batch import Tlog, TlogBatch, TlogCounts, _Batch
from ceasewatch.ingest._mavlink_batch import _merged as _merged  # noqa: PLC0414
from ceasewatch.ingest._mavlink_defs import BY_NAME, MESSAGE_DTYPES, MESSAGE_NAMES, TLOG_TYPES
from ceasewatch.ingest._mavlink_defs import CRC_EXTRA as CRC_EXTRA  # noqa: PLC0414
from ceasewatch.ingest._mavlink_defs import Message as Message  # noqa: PLC0414
from ceasewatch.ingest._mavlink_frames import (
    _MAGIC_V1,
    _MAGIC_V2,
    _PAD,
    _PLAUSIBLE_US,
    _candidate,
    _crc_ok,
    _Frames,
    _Links,
    _Stop,
    _Sync,
    _walk,
    x25_crc,
)
from ceasewatch.ingest._mavlink_frames import _crc_rows as _crc_rows  # noqa: PLC0414
from ceasewatch.ingest._mavlink_frames import _rows as _rows  # noqa: PLC0414

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "MESSAGE_DTYPES",
    "MESSAGE_NAMES",
    "TLOG_TYPES",
    "Tlog",
    "TlogBatch",
    "TlogCounts",
    "load_tlog",
    "looks_like_tlog",
    "read_tlog",
    "x25_crc",
]

Source = str | os.PathLike[str] | IO[bytes]

#: Bytes read from the file at a time; memory use is a small multiple of this.
DEFAULT_CHUNK_BYTES: Final = 4 << 20


# --- the parser ---------------------------------------------------------------------------


class _Parser:
    """Takes chunks; decides what it can, carries the rest (at most a record or two) over."""

    def __init__(self, types: Collection[str], where: str) -> None:
        types = (types,) if isinstance(types, str) else types
        unknown = sorted(set(types) - set(BY_NAME))
        if unknown:
            raise InvalidInput(
                f"cannot decode MAVLink message type(s) {', '.join(unknown)}; "
                f"choose from {', '.join(TLOG_TYPES)}"
            )
        self._wanted = {BY_NAME[t].msgid: BY_NAME[t] for t in types}
        self._where = where
        self._carry = b""
        self._base = 0  # file offset of the carry's first byte
        self._resyncing = False  # the carry starts with a candidate not yet checked
        self._run: list[int] | None = None  # bad data not yet reported: file offset, size
        self._batch = _Batch(0, where)

    def feed(self, chunk: bytes, final: bool) -> TlogBatch:
        buf = self._carry + chunk
        arr = np.zeros(len(buf) + _PAD, dtype=np.uint8)  # padded: gathers stay inside
        arr[: len(buf)] = np.frombuffer(buf, dtype=np.uint8)
        self._batch = _Batch(self._base, self._where)
        keep = self._scan(buf, arr, final)
        self._carry = buf[keep:]
        self._base += keep
        return self._batch.result(arr, self._wanted)

    def _scan(self, buf: bytes, arr: NDArray[np.uint8], final: bool) -> int:
        """Decide as much of `buf` as can be; return where the undecided rest begins."""
        pos = 0
        links = _Links(arr, len(buf))
        if self._resyncing:
            pos, sync = self._resync(buf, 0, 0, final)
            if sync != "found":
                return pos
        while True:
            starts, stop, why = _walk(buf, links, pos)
            if len(starts):
                fr = _Frames.parse(arr, starts)
                known, ok = _crc_ok(arr, fr)
                cut, decided = self._confirm(fr, known & ~ok, arr, stop=stop, why=why, final=final)
                self._batch.add(arr, fr.take(slice(0, cut)), known[:cut], ok[:cut], self._wanted)
                if cut < len(starts):
                    if not decided:
                        return int(fr.start[cut])
                    why, stop = "bad", int(fr.start[cut])
            if why == "need":
                if final:
                    self._batch.tail(stop, len(buf) - stop)
                    return len(buf)
                return stop
            pos, sync = self._resync(buf, stop, stop + 1, final)
            if sync != "found":
                return pos

    @staticmethod
    def _confirm(
        fr: _Frames,
        bad: NDArray[np.bool_],
        arr: NDArray[np.uint8],
        *,
        stop: int,
        why: _Stop,
        final: bool,
    ) -> tuple[int, bool]:
        """How many records to take, and whether the first one not taken is decided (as
        garbage). A failed CRC is a CRC error only if a sound record, with a timestamp near
        its own, follows it (or the file ends where it does)."""
        n = len(arr) - _PAD
        for i in np.flatnonzero(bad).tolist():
            if i + 1 < len(bad):
                if bad[i + 1] or abs(int(fr.stamp[i]) - int(fr.stamp[i + 1])) > _PLAUSIBLE_US:
                    return i, True
            elif why == "bad":
                return i, True
            elif not final:
                return i, False
            elif stop + 9 <= n and arr[stop + 8] not in (_MAGIC_V1, _MAGIC_V2):
                return i, True
        return len(bad), True

    def _garbage(self, offset: int, size: int, *, close: bool) -> None:
        """Count bad data; report each run of it once, when it ends (in whatever chunk)."""
        b = self._batch
        if size > 0:
            b.sizes["bad"] += size
            b.sizes["all"] += size
            if self._run is None:
                self._run = [b.base + offset, 0]
            self._run[1] += size
        if close and self._run is not None:
            start, size = self._run
            b.problem(start, f"{size} bytes that are no MAVLink record skipped")
            self._run = None

    def _resync(self, buf: bytes, garbage: int, p: int, final: bool) -> tuple[int, _Sync]:
        """Find the first sound record at or after `p`; the bytes from `garbage` up to it
        are bad data. Returns its position, or where to carry on from."""
        n = len(buf)
        self._resyncing = True
        # Candidates are records whose magic byte is at q + 8; find() both magics, lazily.
        next_v2 = next_v1 = -2
        while True:
            lo = p + 8
            if next_v2 == -2 or -1 < next_v2 < lo:
                next_v2 = buf.find(b"\xfd", lo)
            if next_v1 == -2 or -1 < next_v1 < lo:
                next_v1 = buf.find(b"\xfe", lo)
            if next_v2 < 0 and next_v1 < 0:
                keep = n if final else max(p, n - 8)
                self._garbage(garbage, keep - garbage, close=final)
                return keep, "end" if final else "wait"
            q = min(m for m in (next_v2, next_v1) if m >= 0) - 8
            verdict = _candidate(buf, q, final)
            if verdict == "no":
                p = q + 1
                continue
            self._garbage(garbage, q - garbage, close=verdict != "more")
            if verdict == "yes":
                self._resyncing = False
                return q, "found"
            if verdict == "more":
                return q, "wait"
            self._batch.tail(q, n - q)
            return n, "end"


# --- public entry points ------------------------------------------------------------------


@contextmanager
def _opened(source: Source) -> Iterator[tuple[IO[bytes], str]]:
    if isinstance(source, str | os.PathLike):
        where = os.fspath(source)
        try:
            f = open(where, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InvalidInput(f"{where}: cannot read ({exc.strerror}); check the path") from exc
        with f:
            yield f, where
    else:
        yield source, str(getattr(source, "name", "<stream>"))


def _chunks(f: IO[bytes], where: str, chunk_bytes: int) -> Iterator[bytes]:
    if chunk_bytes < 1:
        raise InvalidInput(f"chunk_bytes must be at least 1, not {chunk_bytes}")
    while True:
        try:
            chunk = f.read(chunk_bytes)
        except OSError as exc:
            raise InvalidInput(f"{where}: cannot read ({exc.strerror})") from exc
        if not chunk:
            return
        yield chunk


_B = TypeVar("_B")
_B_co = TypeVar("_B_co", covariant=True)


class _Feeds(Protocol[_B_co]):
    def feed(self, chunk: bytes, final: bool) -> _B_co: ...


def _stream(
    source: Source,
    chunk_bytes: int,
    parser_for: Callable[[str], _Feeds[_B]],
    worth_yielding: Callable[[_B], bool],
) -> Iterator[_B]:
    """Feed a file to a parser chunk by chunk (then once with final=True); yield its batches."""
    with _opened(source) as (f, where):
        parser = parser_for(where)
        for chunk in _chunks(f, where, chunk_bytes):
            batch = parser.feed(chunk, final=False)
            if worth_yielding(batch):
                yield batch
        batch = parser.feed(b"", final=True)
        if worth_yielding(batch):
            yield batch


def read_tlog(
    source: Source,
    *,
    types: Collection[str] = TLOG_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[TlogBatch]:
    """Stream a tlog: one batch per chunk read, with the messages of `types` decoded.

    Damage (CRC failures, garbage, a cut-off end) is counted in each batch's `counts`, never
    raised; memory stays within a few chunks whatever the file's size.

    Args:
        source: a path, or a binary file object open for reading.
        types: message type names to decode (see `TLOG_TYPES`); the others are only counted.
        chunk_bytes: bytes read at a time.

    Raises:
        InvalidInput: the file cannot be read, or `types` names a type not decoded here.

    Example:
        >>> for batch in read_tlog("flight.tlog", types=["ATTITUDE"]):
        ...     print(batch.messages.get("ATTITUDE", [])[:1])  # doctest: +SKIP
    """
    yield from _stream(
        source,
        chunk_bytes,
        lambda where: _Parser(types, where),
        lambda b: bool(b.counts.bytes or b.counts.problems),
    )


def load_tlog(
    source: Source,
    *,
    types: Collection[str] = TLOG_TYPES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Tlog:
    """Read a whole tlog: every message of `types` as one structured array per type.

    Example:
        >>> log = load_tlog("flight.tlog")  # doctest: +SKIP
        >>> log.messages["GLOBAL_POSITION_INT"]["lat_deg"], log.counts.crc_errors
    """
    parts: dict[str, list[NDArray[np.void]]] = {}
    counts = TlogCounts()
    with _opened(source) as (f, where):
        for batch in read_tlog(f, types=types, chunk_bytes=chunk_bytes):
            counts = counts + batch.counts
            for name, arr in batch.messages.items():
                parts.setdefault(name, []).append(arr)
    messages = {name: np.concatenate(parts[name]) for name in TLOG_TYPES if name in parts}
    return Tlog(where, messages, counts)


def looks_like_tlog(head: bytes) -> bool:
    """Whether `head`, the first bytes of a file (64 KiB is plenty), is the start of a tlog:
    frames whose CRC checks, from byte 0 or after a little garbage."""
    counts = _Parser((), "").feed(head, final=True).counts
    checked = sum(counts.frames.values())
    if counts.bad_data_bytes == 0:
        return checked >= 1
    return checked >= 3 and counts.bad_data_bytes <= len(head) // 2
