"""MISB ST 0601 UAS Datalink Local Set (KLV): platform, sensor and frame geometry.

Implements the decoder from MISB ST 0601 (UAS Datalink Local Set) over SMPTE ST 336 KLV:
a packet is the 16-byte universal key `06 0E 2B 34 02 0B 01 01 0E 01 03 01 01 00 00 00`,
a BER length (short or long form) and a local set of items, each a BER-OID tag, a BER
length and a value. The last item is tag 1, the checksum: the low 16 bits of the running
sum of the packet's bytes taken as big-endian 16-bit words, from the first byte of the key
through the checksum item's length byte (a sum, not a CRC: the standard's reference code
adds 16-bit words). The standard says a packet whose checksum does not match "shall be
discarded".

Fixed-point items map an integer range onto a real range (ST 0601 section 8; the
constants below are those of ST 0601.11 as klvdata's tests and jmisb quote them, and
unchanged in ST 0601.17 as kwiver's table cites it). Signed
items map -(2^(n-1)-1)..(2^(n-1)-1) onto ±max and reserve -2^(n-1) (0x8000, 0x80000000)
as an "error" / "out of range" indicator: the sensor latitude when the sensor looks above
the horizon, say. That value means "unknown" for the one field, never a bad packet: the
field is None, its tag is listed in `KlvPacket.error_value_tags`, and `KlvStats` counts
it.

Reading never gives up on a stream: a packet with a broken length, a broken item
structure or a wrong checksum is counted, listed as a `Problem` and skipped, and the
search for the next key resumes one byte after the bad packet's key (its length may be
the broken part, so nothing it claims is trusted). Bytes outside any packet are counted as
`bad_bytes`; a packet cut off by the end of the input is counted as `truncated`. With
`on_error="raise"` the first such problem raises `InvalidInput` instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from ceasewatch.errors import InvalidInput, Problem

__all__ = [
    "MAX_PACKET_BYTES",
    "TAGS",
    "UAS_LS_KEY",
    "KlvPacket",
    "KlvStats",
    "TagSpec",
    "inspect",
    "iter_packets",
]

#: The 16-byte SMPTE universal key of the UAS Datalink Local Set (ST 0601).
UAS_LS_KEY = bytes.fromhex("060E2B34020B01010E01030101000000")

#: Longest packet accepted (key + length + value). ST 0601 packets are a few hundred
#: bytes; a larger claimed length is far more likely a corrupt length than a real packet.
MAX_PACKET_BYTES = 1 << 16

#: Problems kept in `KlvStats.problems`; the counters stay exact beyond it.
MAX_PROBLEMS = 1000

_CHECKSUM_TAG = 1
_MAX_BER_LENGTH_BYTES = 8
_MAX_OID_BYTES = 4

# How a tag's value is read (ST 0601 section 8, "Conversions and Mappings"):
#   "str"   UTF-8 text of any length
#   "uint"  unsigned integer of exactly `size` bytes, taken as is
#   "umap"  unsigned integer 0..2^(8*size)-1 mapped linearly onto lo..hi
#   "smap"  signed integer ±(2^(8*size-1)-1) mapped onto ±hi; -2^(8*size-1) is the
#           reserved error value (None)
_Kind = Literal["str", "uint", "umap", "smap"]


@dataclass(frozen=True, slots=True)
class TagSpec:
    """How one tag is decoded: the `KlvPacket` field it fills and its mapping."""

    name: str
    kind: _Kind
    size: int = 0
    lo: float = 0.0
    hi: float = 0.0


def _corner_specs() -> dict[int, TagSpec]:
    specs: dict[int, TagSpec] = {}
    for i in range(4):
        # Tags 26..33: offsets from the frame centre, ±0.075 degrees in int16.
        specs[26 + 2 * i] = TagSpec(f"offset_corner{i + 1}_lat_deg", "smap", 2, hi=0.075)
        specs[27 + 2 * i] = TagSpec(f"offset_corner{i + 1}_lon_deg", "smap", 2, hi=0.075)
        # Tags 82..89: the same corners in full range, int32.
        specs[82 + 2 * i] = TagSpec(f"corner{i + 1}_lat_deg", "smap", 4, hi=90.0)
        specs[83 + 2 * i] = TagSpec(f"corner{i + 1}_lon_deg", "smap", 4, hi=180.0)
    return specs


#: The tags decoded into `KlvPacket` fields; every other tag is kept raw.
TAGS: dict[int, TagSpec] = {
    2: TagSpec("t_us", "uint", 8),
    3: TagSpec("mission_id", "str"),
    4: TagSpec("platform_tail_number", "str"),
    5: TagSpec("platform_heading_deg", "umap", 2, 0.0, 360.0),
    6: TagSpec("platform_pitch_deg", "smap", 2, hi=20.0),
    7: TagSpec("platform_roll_deg", "smap", 2, hi=50.0),
    10: TagSpec("platform_designation", "str"),
    11: TagSpec("image_source_sensor", "str"),
    13: TagSpec("sensor_lat_deg", "smap", 4, hi=90.0),
    14: TagSpec("sensor_lon_deg", "smap", 4, hi=180.0),
    15: TagSpec("sensor_true_alt_m", "umap", 2, -900.0, 19000.0),
    16: TagSpec("sensor_hfov_deg", "umap", 2, 0.0, 180.0),
    17: TagSpec("sensor_vfov_deg", "umap", 2, 0.0, 180.0),
    18: TagSpec("sensor_rel_azimuth_deg", "umap", 4, 0.0, 360.0),
    19: TagSpec("sensor_rel_elevation_deg", "smap", 4, hi=180.0),
    20: TagSpec("sensor_rel_roll_deg", "umap", 4, 0.0, 360.0),
    21: TagSpec("slant_range_m", "umap", 4, 0.0, 5_000_000.0),
    22: TagSpec("target_width_m", "umap", 2, 0.0, 10_000.0),
    23: TagSpec("frame_center_lat_deg", "smap", 4, hi=90.0),
    24: TagSpec("frame_center_lon_deg", "smap", 4, hi=180.0),
    25: TagSpec("frame_center_elevation_m", "umap", 2, -900.0, 19000.0),
    65: TagSpec("ls_version", "uint", 1),
    90: TagSpec("platform_pitch_full_deg", "smap", 4, hi=90.0),
    91: TagSpec("platform_roll_full_deg", "smap", 4, hi=90.0),
    **_corner_specs(),
}

Corner = tuple[float, float]


@dataclass(frozen=True, slots=True)
class KlvPacket:
    """One UAS Datalink LS packet. A field is None when its tag is absent, malformed, or
    carries the standard's reserved error value (then its tag is in `error_value_tags`).

    Corners are numbered as ST 0601 numbers them: 1 upper left, 2 upper right, 3 lower
    right, 4 lower left. `offset_corner*` are offsets from the frame centre (tags 26-33);
    `corner*` are full coordinates (tags 82-89). Angles are degrees, lengths metres,
    latitudes and longitudes WGS84.
    """

    offset: int
    checksum_ok: bool | None = None
    t_us: int | None = None
    mission_id: str | None = None
    platform_tail_number: str | None = None
    platform_designation: str | None = None
    image_source_sensor: str | None = None
    ls_version: int | None = None
    platform_heading_deg: float | None = None
    platform_pitch_deg: float | None = None
    platform_roll_deg: float | None = None
    platform_pitch_full_deg: float | None = None
    platform_roll_full_deg: float | None = None
    sensor_lat_deg: float | None = None
    sensor_lon_deg: float | None = None
    sensor_true_alt_m: float | None = None
    sensor_hfov_deg: float | None = None
    sensor_vfov_deg: float | None = None
    sensor_rel_azimuth_deg: float | None = None
    sensor_rel_elevation_deg: float | None = None
    sensor_rel_roll_deg: float | None = None
    slant_range_m: float | None = None
    target_width_m: float | None = None
    frame_center_lat_deg: float | None = None
    frame_center_lon_deg: float | None = None
    frame_center_elevation_m: float | None = None
    offset_corner1_lat_deg: float | None = None
    offset_corner1_lon_deg: float | None = None
    offset_corner2_lat_deg: float | None = None
    offset_corner2_lon_deg: float | None = None
    offset_corner3_lat_deg: float | None = None
    offset_corner3_lon_deg: float | None = None
    offset_corner4_lat_deg: float | None = None
    offset_corner4_lon_deg: float | None = None
    corner1_lat_deg: float | None = None
    corner1_lon_deg: float | None = None
    corner2_lat_deg: float | None = None
    corner2_lon_deg: float | None = None
    corner3_lat_deg: float | None = None
    corner3_lon_deg: float | None = None
    corner4_lat_deg: float | None = None
    corner4_lon_deg: float | None = None
    #: Tags not decoded into a field (or whose length was wrong), in packet order.
    raw_tags: tuple[tuple[int, bytes], ...] = ()
    #: Tags that carried the reserved error value ("unknown"), so their field is None.
    error_value_tags: frozenset[int] = frozenset()

    @property
    def time_utc(self) -> datetime | None:
        """The precision time stamp (tag 2) as a UTC datetime; None if absent or absurd."""
        return _utc(self.t_us)

    @property
    def pitch_deg(self) -> float | None:
        """Platform pitch: the full-range tag 90 if present, else tag 6."""
        full = self.platform_pitch_full_deg
        return full if full is not None else self.platform_pitch_deg

    @property
    def roll_deg(self) -> float | None:
        """Platform roll: the full-range tag 91 if present, else tag 7."""
        full = self.platform_roll_full_deg
        return full if full is not None else self.platform_roll_deg

    def full_corners_deg(self) -> tuple[Corner, Corner, Corner, Corner] | None:
        """The four (lat, lon) corners from tags 82-89, or None unless all eight are known."""
        return _four(
            [getattr(self, f"corner{i}_{axis}_deg") for i in range(1, 5) for axis in ("lat", "lon")]
        )

    def offset_corners_deg(self) -> tuple[Corner, Corner, Corner, Corner] | None:
        """The four (lat, lon) corners as frame centre + offsets (tags 23, 24, 26-33), or
        None unless the centre and all eight offsets are known."""
        lat0, lon0 = self.frame_center_lat_deg, self.frame_center_lon_deg
        if lat0 is None or lon0 is None:
            return None
        values: list[float | None] = []
        for i in range(1, 5):
            dlat = getattr(self, f"offset_corner{i}_lat_deg")
            dlon = getattr(self, f"offset_corner{i}_lon_deg")
            values += [None if dlat is None else lat0 + dlat, None if dlon is None else lon0 + dlon]
        return _four(values)

    def corners_deg(self) -> tuple[Corner, Corner, Corner, Corner] | None:
        """The image footprint: full corners if known, else centre + offsets, else None."""
        return self.full_corners_deg() or self.offset_corners_deg()


def _utc(t_us: int | None) -> datetime | None:
    if t_us is None:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=t_us)
    except OverflowError:
        return None


def _four(values: list[float | None]) -> tuple[Corner, Corner, Corner, Corner] | None:
    if any(v is None for v in values):
        return None
    v = [float(x) for x in values if x is not None]
    return ((v[0], v[1]), (v[2], v[3]), (v[4], v[5]), (v[6], v[7]))


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


def _checksum(data: bytes) -> int:
    """ST 0601 checksum of `data` (key through the checksum's length byte)."""
    # Bytes at even offsets are the high byte of a big-endian 16-bit word.
    return ((sum(data[0::2]) << 8) + sum(data[1::2])) & 0xFFFF


def _ber_length(buf: bytes | bytearray, i: int) -> tuple[int, int] | None:
    """(length, bytes used) of the BER length at buf[i]; None if buf ends first.

    Raises:
        ValueError: the indefinite form (0x80) or more than 8 length bytes.
    """
    if i >= len(buf):
        return None
    first = buf[i]
    if first < 0x80:
        return first, 1
    n = first & 0x7F
    if n == 0 or n > _MAX_BER_LENGTH_BYTES:
        raise ValueError(f"BER length byte 0x{first:02X} is not a definite length of 1-8 bytes")
    if i + 1 + n > len(buf):
        return None
    return int.from_bytes(buf[i + 1 : i + 1 + n], "big"), 1 + n


def _ber_oid(buf: bytes, i: int) -> tuple[int, int]:
    """(tag, bytes used) of the BER-OID tag at buf[i] (7 bits a byte, high bit = more)."""
    tag = 0
    for k in range(_MAX_OID_BYTES):
        if i + k >= len(buf):
            raise ValueError("tag runs past the end of the local set")
        b = buf[i + k]
        tag = (tag << 7) | (b & 0x7F)
        if b < 0x80:
            return tag, k + 1
    raise ValueError(f"BER-OID tag longer than {_MAX_OID_BYTES} bytes")


def _items(value: bytes, base: int) -> list[tuple[int, int, bytes]]:
    """The local set's items as (tag, absolute offset, value).

    Raises:
        ValueError: an item's tag or length runs past the end of the set.
    """
    items: list[tuple[int, int, bytes]] = []
    end = len(value)
    i = 0
    while i < end:
        # Fast path: every tag ST 0601 defines so far fits one byte, most lengths too.
        tag, n_tag = (value[i], 1) if value[i] < 0x80 else _ber_oid(value, i)
        j = i + n_tag
        if j < end and value[j] < 0x80:
            length, n_len = value[j], 1
        else:
            try:
                got = _ber_length(value, j)
            except ValueError as e:
                raise ValueError(f"tag {tag}: {e}") from None
            if got is None:
                raise ValueError(f"tag {tag}: length runs past the end of the local set")
            length, n_len = got
        start = j + n_len
        if start + length > end:
            raise ValueError(
                f"tag {tag}: {length} value bytes claimed, {end - start} left in the set"
            )
        items.append((tag, base + i, value[start : start + length]))
        i = start + length
    return items


def _decode_value(spec: TagSpec, raw: bytes) -> tuple[Any, bool]:
    """(value, is_error_value) of one item; ValueError if its length is wrong."""
    if spec.kind == "str":
        return raw.decode("utf-8", errors="replace"), False
    if len(raw) != spec.size:
        raise ValueError(f"length {len(raw)}, ST 0601 says {spec.size}")
    if spec.kind == "uint":
        return int.from_bytes(raw, "big"), False
    bits = 8 * spec.size
    if spec.kind == "umap":
        n = int.from_bytes(raw, "big")
        return spec.lo + n * (spec.hi - spec.lo) / ((1 << bits) - 1), False
    n = int.from_bytes(raw, "big", signed=True)
    if n == -(1 << (bits - 1)):
        return None, True
    return n * spec.hi / ((1 << (bits - 1)) - 1), False


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


def iter_packets(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    chunk_bytes: int = 1 << 16,
    stats: KlvStats | None = None,
    verify_checksum: bool = True,
    on_error: Literal["skip", "raise"] = "skip",
    max_packet_bytes: int = MAX_PACKET_BYTES,
) -> Iterator[KlvPacket]:
    """Decode the UAS Datalink LS packets of a raw KLV stream, reading it in chunks.

    Example:
        >>> stats = KlvStats()
        >>> for p in iter_packets("flight.klv", stats=stats):  # doctest: +SKIP
        ...     print(p.time_utc, p.sensor_lat_deg, p.sensor_lon_deg)

    Args:
        source: a path, or a binary file object (read from where it stands).
        chunk_bytes: bytes read at a time; memory stays near one chunk plus one packet.
        stats: filled in as packets are read (counts and problems); pass one to see them.
        verify_checksum: skip packets whose checksum is wrong or missing (the standard's
            rule). False yields them too, with `checksum_ok` False or None.
        on_error: "skip" counts bad bytes and packets in `stats` and goes on; "raise"
            raises `InvalidInput` at the first one.
        max_packet_bytes: a packet claiming more is taken as a corrupt length.

    Raises:
        InvalidInput: with on_error="raise", at the first problem (file, byte offset, tag).
        ValueError: chunk_bytes or max_packet_bytes is not positive, or on_error unknown.
    """
    if chunk_bytes <= 0 or max_packet_bytes <= 0:
        raise ValueError("chunk_bytes and max_packet_bytes must be positive")
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', not {on_error!r}")
    stats = KlvStats() if stats is None else stats
    options: dict[str, Any] = {
        "chunk_bytes": chunk_bytes,
        "verify_checksum": verify_checksum,
        "strict": on_error == "raise",
        "max_packet_bytes": max_packet_bytes,
    }
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        with path.open("rb") as f:
            yield from _Reader(f, str(path), stats, **options)
    else:
        yield from _Reader(source, str(getattr(source, "name", "<stream>")), stats, **options)


_GEOMETRY: dict[str, tuple[str, ...]] = {
    "sensor_position": ("sensor_lat_deg", "sensor_lon_deg"),
    "sensor_altitude": ("sensor_true_alt_m",),
    "platform_attitude": ("platform_heading_deg", "pitch_deg", "roll_deg"),
    "sensor_angles": ("sensor_rel_azimuth_deg", "sensor_rel_elevation_deg"),
    "field_of_view": ("sensor_hfov_deg", "sensor_vfov_deg"),
    "slant_range": ("slant_range_m",),
    "frame_center": ("frame_center_lat_deg", "frame_center_lon_deg"),
}


_BOUNDED = (
    "sensor_lat_deg",
    "sensor_lon_deg",
    "sensor_true_alt_m",
    "frame_center_lat_deg",
    "frame_center_lon_deg",
)


def _bounds(lo_hi: list[float] | None, value: float | None) -> list[float] | None:
    if value is None:
        return lo_hi
    if lo_hi is None:
        return [value, value]
    return [min(lo_hi[0], value), max(lo_hi[1], value)]


def inspect(path: str | os.PathLike[str], *, verify_checksum: bool = True) -> dict[str, Any]:
    """Summarise a KLV file: counts, time span, position bounds, available geometry.

    Example:
        >>> inspect("flight.klv")["geometry"]  # doctest: +SKIP
        {'sensor_position': 1200, 'frame_center': 1200, 'full_corners': 0, ...}

    `geometry` counts, per kind, the packets in which it is fully known; bounds are
    [min, max] over the packets that carry the value (longitudes are not unwrapped
    across the antimeridian).
    """
    stats = KlvStats()
    t_min: int | None = None
    t_max: int | None = None
    bounds: dict[str, list[float] | None] = dict.fromkeys(_BOUNDED, None)
    geometry = dict.fromkeys((*_GEOMETRY, "offset_corners", "full_corners"), 0)
    versions: set[int] = set()
    raw_tags: dict[int, int] = {}
    for p in iter_packets(path, stats=stats, verify_checksum=verify_checksum):
        if p.t_us is not None:
            t_min = p.t_us if t_min is None else min(t_min, p.t_us)
            t_max = p.t_us if t_max is None else max(t_max, p.t_us)
        bounds = {name: _bounds(lo_hi, getattr(p, name)) for name, lo_hi in bounds.items()}
        for kind, names in _GEOMETRY.items():
            geometry[kind] += all(getattr(p, n) is not None for n in names)
        geometry["offset_corners"] += p.offset_corners_deg() is not None
        geometry["full_corners"] += p.full_corners_deg() is not None
        if p.ls_version is not None:
            versions.add(p.ls_version)
        for tag, _ in p.raw_tags:
            raw_tags[tag] = raw_tags.get(tag, 0) + 1

    def iso(t_us: int | None) -> str | None:
        t = _utc(t_us)
        return None if t is None else t.isoformat().replace("+00:00", "Z")

    return {
        "path": str(path),
        "bytes": Path(path).stat().st_size,
        **stats.as_dict(),
        "time_first": iso(t_min),
        "time_last": iso(t_max),
        "time_span_s": None if t_min is None or t_max is None else (t_max - t_min) / 1e6,
        **bounds,
        "geometry": geometry,
        "ls_versions": sorted(versions),
        "raw_tags": dict(sorted(raw_tags.items())),
    }
