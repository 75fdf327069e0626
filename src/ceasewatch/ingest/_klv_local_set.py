"""MISB ST 0601 local set: the key, the tags decoded and their mappings, the items' BER
encoding and the checksum, and the `KlvPacket` they decode into.

Pure functions of bytes, for `ceasewatch.ingest.klv` (its module docstring gives the
packet layout and the rules for damage); the streaming reader is `_klv_reader`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

#: The 16-byte SMPTE universal key of the UAS Datalink Local Set (ST 0601).
UAS_LS_KEY = bytes.fromhex("060E2B34020B01010E01030101000000")

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
