"""The streaming reader behind `ceasewatch.ingest.klv.iter_packets`: packets found in
chunks, checked and decoded, and what went wrong counted in `KlvStats`.

See `ceasewatch.ingest.klv`'s module docstring for how a stream is read and what is
skipped; the byte formats are in `_klv_local_set`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.ingest._klv_local_set import (
    _CHECKSUM_TAG,
    TAGS,
    UAS_LS_KEY,
    KlvPacket,
    _ber_length,
    _checksum,
    _decode_value,
    _items,
)

#: Problems kept in `KlvStats.problems`; the counters stay exact beyond it.
MAX_PROBLEMS = 1000


@dataclass(slots=True)
class KlvStats:
    """What a read met besides good packets. Filled in as `iter_packets` goes.

    Attributes:
        packets: packets yielded.
        checksum_failures: packets whose checksum did not match (skipped unless
            `verify_checksum=False`).
        missing_checksum: packets whose last item is not a checksum (same treatment).
        malformed: packets with an impossible length or item structure (always skipped).
        truncated: packets cut off by the end of the input.
        bad_bytes: bytes outside every packet (garbage between packets, unknown keys).
        error_values: per tag, items that carried the reserved error value ("unknown").
        bad_tag_lengths: per tag, decodable items whose length was wrong (kept raw).
        problems: the first `MAX_PROBLEMS` problems, each saying where and what to do.
    """

    packets: int = 0
    checksum_failures: int = 0
    missing_checksum: int = 0
    malformed: int = 0
    truncated: int = 0
    bad_bytes: int = 0
    error_values: dict[int, int] = field(default_factory=dict)
    bad_tag_lengths: dict[int, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The counters (not the problems) as plain, JSON-ready data."""
        return {
            "packets": self.packets,
            "checksum_failures": self.checksum_failures,
            "missing_checksum": self.missing_checksum,
            "malformed": self.malformed,
            "truncated": self.truncated,
            "bad_bytes": self.bad_bytes,
            "error_values": dict(sorted(self.error_values.items())),
            "bad_tag_lengths": dict(sorted(self.bad_tag_lengths.items())),
        }


class _Reader:
    """Scans a byte stream chunk by chunk for UAS Datalink LS packets.

    `buf` holds unread input from absolute offset `base`; `start` indexes the first byte
    still needed. Bytes before `start` are dropped only when more input must be read, so
    a chunk full of packets is not copied once per packet.
    """

    def __init__(
        self,
        stream: IO[bytes],
        name: str,
        stats: KlvStats,
        *,
        chunk_bytes: int,
        verify_checksum: bool,
        strict: bool,
        max_packet_bytes: int,
    ) -> None:
        self.stream = stream
        self.name = name
        self.stats = stats
        self.chunk_bytes = chunk_bytes
        self.verify_checksum = verify_checksum
        self.strict = strict
        self.max_packet_bytes = max_packet_bytes
        self.buf = bytearray()
        self.base = 0
        self.start = 0
        self.eof = False
        self.covered_until = 0  # absolute end of the last packet (good or bad) seen
        self.run_start: int | None = None  # absolute start of the current bad-byte run
        self.run_bytes = 0

    # -- bookkeeping -------------------------------------------------------------------

    def problem(
        self, offset: int, what: str, tag: int | None = None, *, warn: bool = False
    ) -> None:
        where = f"{self.name}: byte {offset}" + (f" tag {tag}" if tag is not None else "")
        p = Problem(where, what, "warning" if warn else "error")
        if self.strict:
            raise InvalidInput(f"{self.name}: not a clean MISB ST 0601 KLV stream", [p])
        if len(self.stats.problems) < MAX_PROBLEMS:
            self.stats.problems.append(p)

    def skip(self, start: int, end: int) -> None:
        """Absolute bytes [start, end) belong to no packet."""
        start = max(start, self.covered_until)
        if end <= start:
            return
        self.stats.bad_bytes += end - start
        if self.run_start is None:
            self.run_start = start
        self.run_bytes += end - start

    def end_run(self) -> None:
        if self.run_start is not None:
            start, n = self.run_start, self.run_bytes
            self.run_start, self.run_bytes = None, 0
            self.problem(
                start,
                f"{n} bytes outside any UAS Datalink LS packet were skipped; if the file "
                "is an MPEG-TS, extract its KLV data stream first (ffmpeg -i in.ts -map 0:d "
                "-c copy -f data out.klv)",
            )

    # -- buffer ------------------------------------------------------------------------

    def fill(self, need: int) -> bool:
        """Read until `need` bytes from `start` are buffered; False if the input ends."""
        if len(self.buf) - self.start >= need:
            return True
        del self.buf[: self.start]
        self.base += self.start
        self.start = 0
        while len(self.buf) < need and not self.eof:
            chunk = self.stream.read(self.chunk_bytes)
            if chunk:
                self.buf += chunk
            else:
                self.eof = True
        return len(self.buf) >= need

    # -- scanning ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[KlvPacket]:
        key_len = len(UAS_LS_KEY)
        while True:
            k = self.buf.find(UAS_LS_KEY, self.start)
            if k < 0:
                # Keep a tail that may be the start of a key split across chunks.
                end = len(self.buf) if self.eof else max(self.start, len(self.buf) - key_len + 1)
                self.skip(self.base + self.start, self.base + end)
                self.start = end
                if self.eof:
                    self.end_run()
                    return
                self.fill(len(self.buf) - self.start + self.chunk_bytes)
                continue
            self.skip(self.base + self.start, self.base + k)
            self.start = k
            self.end_run()
            packet, advance = self.frame()
            self.start += advance
            if packet is not None:
                self.stats.packets += 1
                yield packet

    def frame(self) -> tuple[KlvPacket | None, int]:
        """Read the packet whose key is at `start`: (the packet or None, bytes to advance).

        After a bad packet the search resumes at the byte after its key: the length may
        be the corrupt part, so nothing the packet claims is trusted.
        """
        key_len = len(UAS_LS_KEY)
        at = self.base + self.start
        while True:
            try:
                got = _ber_length(self.buf, self.start + key_len)
            except ValueError as e:
                self.stats.malformed += 1
                self.covered_until = max(self.covered_until, at + key_len + 1)
                self.problem(at, f"packet length: {e}; the packet is skipped")
                return None, 1
            if got is not None:
                break
            if not self.fill(len(self.buf) - self.start + 1):
                self.truncated(at)
                return None, 1
        length, n_len = got
        total = key_len + n_len + length
        if total > self.max_packet_bytes:
            self.stats.malformed += 1
            self.covered_until = max(self.covered_until, at + key_len + n_len)
            self.problem(
                at,
                f"packet claims {total} bytes, more than max_packet_bytes="
                f"{self.max_packet_bytes}: a corrupt length (or raise max_packet_bytes); "
                "the packet is skipped",
            )
            return None, 1
        if not self.fill(total):
            self.truncated(at)
            return None, 1
        data = bytes(self.buf[self.start : self.start + total])
        self.covered_until = max(self.covered_until, at + total)
        try:
            items = _items(data[key_len + n_len :], at + key_len + n_len)
        except ValueError as e:
            self.stats.malformed += 1
            self.problem(at, f"local set: {e}; the packet is skipped")
            return None, 1
        ok = self.check(data, items, at)
        if ok is not True and self.verify_checksum:
            return None, 1
        return self.decode(items, at, ok), total

    def truncated(self, at: int) -> None:
        held = self.base + len(self.buf) - at
        self.stats.truncated += 1
        self.covered_until = max(self.covered_until, self.base + len(self.buf))
        self.problem(
            at,
            f"the input ends {held} bytes into a packet (a recording cut off mid-packet?); "
            "the partial packet is skipped",
        )

    def check(self, data: bytes, items: list[tuple[int, int, bytes]], at: int) -> bool | None:
        """True if the final checksum item matches, False if not, None if there is none."""
        if not items or items[-1][0] != _CHECKSUM_TAG or len(items[-1][2]) != 2:
            self.stats.missing_checksum += 1
            self.problem(
                at,
                "the packet does not end with a checksum item (tag 1, 2 bytes) as ST 0601 "
                "requires; it is skipped unless read with verify_checksum=False",
            )
            return None
        stored = int.from_bytes(items[-1][2], "big")
        computed = _checksum(data[:-2])
        if stored == computed:
            return True
        self.stats.checksum_failures += 1
        self.problem(
            items[-1][1],
            f"checksum 0x{stored:04X} stored, 0x{computed:04X} computed: the packet is "
            "corrupt and is skipped (read with verify_checksum=False to keep it, flagged)",
            _CHECKSUM_TAG,
        )
        return False

    def decode(self, items: list[tuple[int, int, bytes]], at: int, ok: bool | None) -> KlvPacket:
        values: dict[str, Any] = {}
        raw: list[tuple[int, bytes]] = []
        errors: set[int] = set()
        for i, (tag, offset, value) in enumerate(items):
            if tag == _CHECKSUM_TAG and ok is not None and i == len(items) - 1:
                continue
            spec = TAGS.get(tag)
            if spec is None:
                raw.append((tag, value))
                continue
            try:
                decoded, is_error = _decode_value(spec, value)
            except ValueError as e:
                counts = self.stats.bad_tag_lengths
                counts[tag] = counts.get(tag, 0) + 1
                raw.append((tag, value))
                self.problem(
                    offset,
                    f"{spec.name}: {e}; the field is left unknown and its bytes kept raw",
                    tag,
                    warn=True,
                )
                continue
            if is_error:
                errors.add(tag)
                self.stats.error_values[tag] = self.stats.error_values.get(tag, 0) + 1
            else:
                errors.discard(tag)
            # A tag repeated in one packet (ST 0601 allows each once): the last one counts.
            values[spec.name] = decoded
        return KlvPacket(
            offset=at,
            checksum_ok=ok,
            raw_tags=tuple(raw),
            error_value_tags=frozenset(errors),
            **values,
        )
