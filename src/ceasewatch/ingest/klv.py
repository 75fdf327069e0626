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
constants of `TAGS` are those of ST 0601.11 as klvdata's tests and jmisb quote them, and
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

The code: `_klv_local_set` (the key, the tag table and its mappings, BER items, the
checksum, `KlvPacket`), `_klv_reader` (the streaming reader and `KlvStats`), and here the
API: `iter_packets` and `inspect`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from ceasewatch.ingest._klv_local_set import TAGS, UAS_LS_KEY, KlvPacket, TagSpec, _utc
from ceasewatch.ingest._klv_local_set import Corner as Corner  # noqa: PLC0414
from ceasewatch.ingest._klv_reader import MAX_PROBLEMS as MAX_PROBLEMS  # noqa: PLC0414
from ceasewatch.ingest._klv_reader import KlvStats, _Reader

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

#: Longest packet accepted (key + length + value). ST 0601 packets are a few hundred
#: bytes; a larger claimed length is far more likely a corrupt length than a real packet.
MAX_PACKET_BYTES = 1 << 16


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
