"""Write a simulated flight as a MISB ST 0601 UAS Datalink Local Set stream (raw `.klv`).

The encoder is written from MISB ST 0601 (UAS Datalink Local Set) over SMPTE ST 336 KLV,
independently of the decoder in `ingest.klv` (the tests hold each to the other). A
packet is the 16-byte UAS LS universal key, a BER length and the items, each a BER-OID
tag (one byte for every tag here), a BER length and the value; the last item is tag 1,
the checksum: the low 16 bits of the sum of the packet's bytes taken as big-endian
16-bit words, from the first byte of the key through the checksum item's length byte.

Values map linearly onto fixed-size integers (ST 0601 section 8):

- "umap" (unsigned, n bytes): lo..hi onto 0..2^(8n)-1. Angles that wrap (headings,
  sensor relative azimuth and roll) are taken modulo 360 first; any other value out of
  range, or unknown, has no code, so the item is left out of the packet.
- "smap" (signed, n bytes): -hi..hi onto ±(2^(8n-1)-1); -2^(8n-1) (0x8000, 0x80000000)
  is the standard's reserved error value, written for a value out of range or unknown:
  a frame corner beyond ±0.075 degrees of the frame centre, say, or a sensor latitude
  when the boresight does not meet the ground.

Items written per sample: 2 precision time stamp, 3 mission id, 5-7 platform heading,
pitch and roll, 13-15 sensor latitude, longitude and true altitude, 16-17 horizontal and
vertical field of view, 18-20 sensor relative azimuth, elevation and roll (the gimbal
relative to the platform: BODY frame, converted from the flight's HORIZON angles), 21
slant range, 23-25 frame centre, 26-33 offset corner coordinates (upper left, upper
right, lower right, lower left), 65 LS version, then 1 the checksum. The frame centre
and corners are where the rays meet flat ground at the sortie's ground elevation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import numpy as np

from ceasewatch.geo.geodesy import forward
from ceasewatch.sim.flights import Flight

__all__ = [
    "LS_VERSION",
    "TAG_SPECS",
    "UAS_LS_KEY",
    "encode_item",
    "klv_packet",
    "packets",
    "write_klv",
]

#: The 16-byte SMPTE universal key of the UAS Datalink Local Set.
UAS_LS_KEY = bytes.fromhex("060E2B34020B01010E01030101000000")
#: The ST 0601 version written in tag 65.
LS_VERSION = 17

Value = float | int | str | None
_Kind = Literal["uint", "str", "umap", "smap"]

#: tag: (kind, bytes, lo, hi), from ST 0601's tag table (lo unused for "smap").
TAG_SPECS: dict[int, tuple[_Kind, int, float, float]] = {
    2: ("uint", 8, 0, 0),  # precision time stamp, µs since 1970
    3: ("str", 0, 0, 0),  # mission id
    5: ("umap", 2, 0.0, 360.0),  # platform heading
    6: ("smap", 2, 0.0, 20.0),  # platform pitch
    7: ("smap", 2, 0.0, 50.0),  # platform roll
    13: ("smap", 4, 0.0, 90.0),  # sensor latitude
    14: ("smap", 4, 0.0, 180.0),  # sensor longitude
    15: ("umap", 2, -900.0, 19000.0),  # sensor true altitude (MSL)
    16: ("umap", 2, 0.0, 180.0),  # sensor horizontal fov
    17: ("umap", 2, 0.0, 180.0),  # sensor vertical fov
    18: ("umap", 4, 0.0, 360.0),  # sensor relative azimuth
    19: ("smap", 4, 0.0, 180.0),  # sensor relative elevation
    20: ("umap", 4, 0.0, 360.0),  # sensor relative roll
    21: ("umap", 4, 0.0, 5_000_000.0),  # slant range
    23: ("smap", 4, 0.0, 90.0),  # frame centre latitude
    24: ("smap", 4, 0.0, 180.0),  # frame centre longitude
    25: ("umap", 2, -900.0, 19000.0),  # frame centre elevation
    **{tag: ("smap", 2, 0.0, 0.075) for tag in range(26, 34)},  # offset corners
    65: ("uint", 1, 0, 0),  # LS version
}
_WRAPS = frozenset({5, 18, 20})


def _ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode_item(tag: int, value: Value) -> bytes | None:
    """One item (tag, BER length, value) of the local set, or None to leave it out.

    A signed mapping's value that is out of range, NaN or None is written as the
    reserved error value; an unsigned mapping's has no such code, so it is left out
    (wrapping angles are taken modulo 360 first).

    Raises:
        KeyError: the tag is not one this encoder writes.
        ValueError: a text or integer item's value is of the wrong type or range.
    """
    kind, size, lo, hi = TAG_SPECS[tag]
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"tag {tag} takes text, not {value!r}")
        # ST 0601 text items hold at most 127 bytes; never cut a character in two.
        raw = value.encode("utf-8")[:127].decode("utf-8", "ignore").encode("utf-8")
    elif kind == "uint":
        if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
            raise ValueError(f"tag {tag} takes an integer of {size} bytes, not {value!r}")
        raw = value.to_bytes(size, "big")
    else:
        bits = 8 * size
        v = None if value is None or isinstance(value, str) else float(value)
        if v is not None and not math.isfinite(v):
            v = None
        if kind == "smap":
            top = (1 << (bits - 1)) - 1
            n = -(1 << (bits - 1)) if v is None or abs(v) > hi else round(v * top / hi)
            raw = n.to_bytes(size, "big", signed=True)
        else:
            if v is not None and tag in _WRAPS:
                v %= 360.0
            if v is None or not lo <= v <= hi:
                return None
            raw = round((v - lo) * ((1 << bits) - 1) / (hi - lo)).to_bytes(size, "big")
    return bytes([tag]) + _ber_length(len(raw)) + raw


def _checksum(data: bytes) -> int:
    """ST 0601's running sum of big-endian 16-bit words, low 16 bits."""
    total = 0
    for i, b in enumerate(data):
        total += b << 8 if i % 2 == 0 else b
    return total & 0xFFFF


def klv_packet(values: Mapping[int, Value]) -> bytes:
    """A UAS Datalink LS packet of `values` (by tag, written in the mapping's order),
    with LS version and checksum appended."""
    body = b"".join(
        item
        for tag, value in values.items()
        if tag != 65 and (item := encode_item(tag, value)) is not None
    )
    version = encode_item(65, LS_VERSION)
    assert version is not None
    body += version + b"\x01\x02"
    head = UAS_LS_KEY + _ber_length(len(body) + 2)
    return head + body + _checksum(head + body).to_bytes(2, "big")


# --- geometry -----------------------------------------------------------------------------

Matrix = tuple[tuple[float, float, float], ...]


def _rot(yaw_deg: float, pitch_deg: float, roll_deg: float) -> Matrix:
    """Rz(yaw) Ry(pitch) Rx(roll): body to NED."""
    cy, sy = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    cp, sp = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
    cr, sr = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    return (
        (cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr),
        (sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr),
        (-sp, cp * sr, cp * cr),
    )


def _relative(body: Matrix, cam: Matrix) -> tuple[float, float, float]:
    """Azimuth, elevation, roll (degrees) of the camera relative to the body: body^T cam."""
    r = [[sum(body[k][i] * cam[k][j] for k in range(3)) for j in range(3)] for i in range(3)]
    az = math.degrees(math.atan2(r[1][0], r[0][0]))
    el = math.degrees(math.asin(max(-1.0, min(1.0, -r[2][0]))))
    roll = math.degrees(math.atan2(r[2][1], r[2][2]))
    return az, el, roll


def _ground(cam: Matrix, u: float, w: float, height_m: float) -> tuple[float, float, float]:
    """(north, east, slant) metres to where camera ray (1, u, w) meets the ground; NaN if
    it does not (at or above the horizon)."""
    d = [cam[k][0] + cam[k][1] * u + cam[k][2] * w for k in range(3)]
    if d[2] <= 1e-9 or height_m <= 0:
        return math.nan, math.nan, math.nan
    s = height_m / d[2]
    return d[0] * s, d[1] * s, s * math.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2)


def packets(flight: Flight, mission_id: str | None = None) -> Iterator[bytes]:
    """The flight's packets, one per sample."""
    s = flight.sortie
    n = len(flight)
    mission = mission_id or s.id
    # Rays to the ground, per sample: the centre, then the four corners in ST 0601 order.
    north = np.full((n, 5), np.nan)
    east = np.full((n, 5), np.nan)
    slant = np.full(n, np.nan)
    rel: list[tuple[float, float, float]] = []
    for i in range(n):
        yaw, g_yaw = float(flight.yaw_deg[i]), float(flight.gimbal_yaw_deg[i])
        body = _rot(yaw, float(flight.pitch_deg[i]), float(flight.roll_deg[i]))
        cam = _rot(yaw + g_yaw, float(flight.gimbal_pitch_deg[i]), float(flight.gimbal_roll_deg[i]))
        rel.append(_relative(body, cam))
        th = math.tan(math.radians(float(flight.hfov_deg[i])) / 2)
        tv = math.tan(math.radians(float(flight.vfov_deg[i])) / 2)
        height = float(flight.alt_m[i]) - s.ground_elev_m
        rays = ((0.0, 0.0), (-th, -tv), (th, -tv), (th, tv), (-th, tv))
        for k, (u, w) in enumerate(rays):
            dn, de, sl = _ground(cam, u, w, height)
            north[i, k], east[i, k] = dn, de
            if k == 0:
                slant[i] = sl
    lon0 = np.repeat(flight.lon_deg, 5).reshape(n, 5)
    lat0 = np.repeat(flight.lat_deg, 5).reshape(n, 5)
    az = np.asarray(
        np.frompyfunc(lambda e, nn: math.degrees(math.atan2(e, nn)), 2, 1)(east, north),
        dtype=np.float64,
    )
    known = np.isfinite(north)
    lon, lat = forward(lon0[known], lat0[known], az[known], np.hypot(north, east)[known])
    g_lon, g_lat = np.full((n, 5), np.nan), np.full((n, 5), np.nan)
    g_lon[known], g_lat[known] = lon, lat
    for i in range(n):
        values: dict[int, Value] = {
            2: int(flight.t_us[i]),
            3: mission,
            5: float(flight.yaw_deg[i]),
            6: float(flight.pitch_deg[i]),
            7: float(flight.roll_deg[i]),
            13: float(flight.lat_deg[i]),
            14: float(flight.lon_deg[i]),
            15: float(flight.alt_m[i]),
            16: float(flight.hfov_deg[i]),
            17: float(flight.vfov_deg[i]),
            18: rel[i][0],
            19: rel[i][1],
            20: rel[i][2],
            21: float(slant[i]),
            23: float(g_lat[i, 0]),
            24: float(g_lon[i, 0]),
            25: s.ground_elev_m if known[i, 0] else None,
        }
        for k in range(4):
            values[26 + 2 * k] = float(g_lat[i, k + 1] - g_lat[i, 0])
            values[27 + 2 * k] = float(g_lon[i, k + 1] - g_lon[i, 0])
        yield klv_packet(values)


def write_klv(
    flight: Flight, path: str | os.PathLike[str], *, mission_id: str | None = None
) -> Path:
    """Write the flight's packets, back to back, at `path`; return the path.

    Args:
        mission_id: tag 3 (default: the sortie id).
    """
    out = Path(path)
    with out.open("wb") as f:
        for packet in packets(flight, mission_id):
            f.write(packet)
    return out
