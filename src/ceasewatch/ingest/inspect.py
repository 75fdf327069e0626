"""What a telemetry file is, told from its content, and a summary of it that stores nothing.

`inspect_telemetry` tells a MAVLink telemetry log (`.tlog`, see `mavlink`), an ArduPilot
DataFlash log (`.bin`, see `dataflash`) and a MISB ST 0601 KLV stream (see `klv`) apart by
their first bytes (never the file name), and summarises the file like mavlogdump but for a
monitor: messages by type, damage, values that say "unknown", time span, position bounds,
and which pieces of camera geometry (position, attitude, gimbal, lens) the file can give.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest.dataflash import (
    DataFlashCounts,
    gps_utc_us,
    looks_like_dataflash,
    read_dataflash,
)
from ceasewatch.ingest.klv import UAS_LS_KEY
from ceasewatch.ingest.klv import inspect as inspect_klv
from ceasewatch.ingest.mavlink import TlogCounts, looks_like_tlog, read_tlog

__all__ = ["inspect_telemetry", "telemetry_kind"]

_HEAD_BYTES = 64 << 10
_EXPECTED = (
    "expected a MAVLink telemetry log (.tlog: records of an 8-byte timestamp and a MAVLink "
    "frame), an ArduPilot DataFlash log (.bin: starts with an FMT record, bytes a3 95 80) "
    "or a MISB ST 0601 KLV stream (the UAS Datalink LS key "
    f"{UAS_LS_KEY.hex(' ')} near the start)"
)


def telemetry_kind(head: bytes) -> Literal["tlog", "dataflash", "klv"] | None:
    """What the first bytes of a file (64 KiB is plenty) say it is, or None."""
    if looks_like_dataflash(head):
        return "dataflash"
    if looks_like_tlog(head):
        return "tlog"
    if UAS_LS_KEY in head:  # 16 fixed bytes: no accident, wherever in the head they are
        return "klv"
    return None


def inspect_telemetry(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Summarise a tlog, DataFlash log or KLV stream, reading it once and storing nothing.

    For a tlog or DataFlash log, returns a JSON-ready dict: `kind`, `bytes`, `messages`
    (tlog: frames whose CRC checked; DataFlash: records; by type), `messages_total` (every
    frame or record found, CRC failures and unknown ids included), `crc_errors` (by type;
    None for DataFlash, which has no checksum), `unknown_ids` (tlog), `bad_data_bytes`,
    `truncated_tail_bytes`, `error_values` (decoded rows holding "unknown" values: no GPS
    fix, zero position, NaN angles, no lens data), `time` (first/last UTC, span),
    `position` (bounds by message type), `camera` (lenses seen, image events, gimbal
    messages, and `geometry_available`), and the first `problems` with byte offsets.
    For a KLV stream, `kind` is "klv" and the rest is `klv.inspect`'s summary (packets,
    checksum failures, time span, bounds, geometry counts).

    Raises:
        InvalidInput: the file cannot be read, is empty, or is none of these kinds.

    Example:
        >>> inspect_telemetry("flight.tlog")["camera"]["geometry_available"]  # doctest: +SKIP
        {'position': True, 'attitude': True, 'gimbal': True, 'lens': False, ...}
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as exc:
        raise InvalidInput(f"{where}: cannot read ({exc.strerror}); check the path") from exc
    if not head:
        raise InvalidInput(f"{where}: the file is empty; {_EXPECTED}")
    kind = telemetry_kind(head)
    if kind is None:
        raise InvalidInput(
            f"{where}: not a MAVLink telemetry log, DataFlash log or KLV stream (byte 0 on: "
            f"{head[:8].hex(' ')}); {_EXPECTED}"
        )
    if kind == "klv":
        summary = inspect_klv(where)
        return {"path": summary.pop("path"), "kind": "klv", **summary}
    return _summarise_tlog(where) if kind == "tlog" else _summarise_dataflash(where)


class _Summary:
    """Running totals that do not grow with the file."""

    def __init__(self) -> None:
        self.error_values: Counter[str] = Counter()
        self.bounds: dict[str, list[float]] = {}  # name -> n, lat, lat, lon, lon, alt, alt
        self.rows: Counter[str] = Counter()
        self.cameras: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.boot = [math.inf, -math.inf]  # DataFlash: first and last TimeUS
        self.gps_offsets: list[int] = []  # DataFlash: UTC - TimeUS of GPS records
        self.err_records: Counter[str] = Counter()  # DataFlash ERR: "Subsys.ECode"

    def add(self, name: str, invalid: NDArray[np.bool_]) -> None:
        self.rows[name] += len(invalid)
        self.error_values[name] += int(invalid.sum())

    def position(self, name: str, lat: NDArray[Any], lon: NDArray[Any], alt: NDArray[Any]) -> None:
        ok = np.isfinite(lat) & np.isfinite(lon) & ((lat != 0) | (lon != 0))
        ok &= (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        if not ok.any():
            return
        lat, lon, alt = lat[ok], lon[ok], alt[ok]
        b = self.bounds.setdefault(name, [0, 90, -90, 180, -180, math.inf, -math.inf])
        b[0] += int(ok.sum())
        b[1], b[2] = min(b[1], float(lat.min())), max(b[2], float(lat.max()))
        b[3], b[4] = min(b[3], float(lon.min())), max(b[4], float(lon.max()))
        if np.isfinite(alt).any():
            b[5] = min(b[5], float(np.nanmin(alt)))
            b[6] = max(b[6], float(np.nanmax(alt)))

    def position_report(self) -> dict[str, dict[str, float | int | None]]:
        keys = ("lat_min_deg", "lat_max_deg", "lon_min_deg", "lon_max_deg")
        out: dict[str, dict[str, float | int | None]] = {}
        for name, b in sorted(self.bounds.items()):
            row: dict[str, float | int | None] = {"n": int(b[0])}
            row.update(zip(keys, b[1:5], strict=True))
            row["alt_min_m"] = b[5] if math.isfinite(b[5]) else None
            row["alt_max_m"] = b[6] if math.isfinite(b[6]) else None
            out[name] = row
        return out


def _utc(t_us: int | None) -> str | None:
    if t_us is None:
        return None
    return datetime.fromtimestamp(t_us / 1e6, UTC).isoformat(timespec="milliseconds")


def _time(first_us: int | None, last_us: int | None, source: str) -> dict[str, Any]:
    span = None if first_us is None or last_us is None else (last_us - first_us) / 1e6
    return {
        "first_utc": _utc(first_us),
        "last_utc": _utc(last_us),
        "span_s": span,
        "source": source,
    }


def _nan_rows(arr: NDArray[np.void], cols: tuple[str, ...]) -> NDArray[np.bool_]:
    bad = np.zeros(len(arr), dtype=bool)
    for c in cols:
        if c in (arr.dtype.names or ()):
            bad |= ~np.isfinite(arr[c])
    return bad


def _summarise_tlog(path: str) -> dict[str, Any]:
    s = _Summary()
    counts = TlogCounts()
    for batch in read_tlog(path):
        counts = counts + batch.counts
        for name, a in batch.messages.items():
            _tlog_rows(s, name, a)
    gimbal = ("MOUNT_ORIENTATION", "GIMBAL_DEVICE_ATTITUDE_STATUS", "MOUNT_STATUS")
    good = {k: s.rows[k] - s.error_values[k] for k in s.rows}
    return {
        "path": path,
        "kind": "tlog",
        "bytes": counts.bytes,
        "messages": dict(counts.frames),
        "messages_total": counts.total_frames,
        "crc_errors": dict(counts.crc_errors),
        "unknown_ids": {str(k): v for k, v in counts.unknown_ids.items()},
        "bad_data_bytes": counts.bad_data_bytes,
        "truncated_tail_bytes": counts.truncated_tail_bytes,
        "mavlink": {"v1": counts.mavlink1, "v2": counts.mavlink2, "signed": counts.signed},
        "error_values": dict(sorted(s.error_values.items())),
        "time": _time(counts.t_min_us, counts.t_max_us, "tlog receive time"),
        "position": s.position_report(),
        "camera": {
            "lenses": list(s.cameras.values()),
            "image_events": s.rows["CAMERA_FEEDBACK"],
            "gimbal": {k: s.rows[k] for k in gimbal if s.rows[k]},
            "geometry_available": {
                "position": good.get("GLOBAL_POSITION_INT", 0) + good.get("GPS_RAW_INT", 0) > 0,
                "attitude": good.get("ATTITUDE", 0) > 0,
                "gimbal": any(good.get(k, 0) for k in gimbal),
                "lens": bool(s.cameras),
                "image_events": good.get("CAMERA_FEEDBACK", 0) > 0,
            },
        },
        "problems": [str(p) for p in counts.problems],
    }


def _tlog_rows(s: _Summary, name: str, a: NDArray[np.void]) -> None:
    """Count a batch's rows of one type and their "unknown" values; note positions, lenses."""
    if name in ("GLOBAL_POSITION_INT", "GPS_RAW_INT", "CAMERA_FEEDBACK"):
        alt = a["alt_msl_m"] if name == "CAMERA_FEEDBACK" else a["alt_m"]
        invalid = (a["lat_deg"] == 0) & (a["lon_deg"] == 0)
        if name == "GPS_RAW_INT":
            invalid |= a["fix_type"] < 2
        s.position(name, a["lat_deg"][~invalid], a["lon_deg"][~invalid], alt[~invalid])
    elif name == "CAMERA_INFORMATION":
        invalid = ~(a["focal_length_mm"] > 0) | ~(a["sensor_size_h_mm"] > 0)
        for row in a[~invalid][:64]:
            _lens(s, row)
    elif name == "GIMBAL_DEVICE_ATTITUDE_STATUS":
        invalid = ~np.isfinite(a["yaw_deg"])
    else:
        invalid = _nan_rows(a, ("roll_rad", "pitch_rad", "yaw_rad", "roll_deg", "pitch_deg"))
    s.add(name, invalid)


def _lens(s: _Summary, row: np.void) -> None:
    f, h, v = (float(row[k]) for k in ("focal_length_mm", "sensor_size_h_mm", "sensor_size_v_mm"))
    key = (int(row["sysid"]), int(row["compid"]), bytes(row["model_name"]), f, h, v)
    if key in s.cameras or len(s.cameras) >= 16:
        return
    s.cameras[key] = {
        "sysid": key[0],
        "compid": key[1],
        "vendor": bytes(row["vendor_name"]).decode("utf-8", "replace"),
        "model": key[2].decode("utf-8", "replace"),
        "focal_length_mm": f,
        "sensor_size_mm": [h, v if math.isfinite(v) else None],
        "resolution_px": [int(row["resolution_h_px"]), int(row["resolution_v_px"])],
        "hfov_deg": math.degrees(2 * math.atan(h / (2 * f))),
        "vfov_deg": math.degrees(2 * math.atan(v / (2 * f))) if v > 0 else None,
    }


def _summarise_dataflash(path: str) -> dict[str, Any]:
    s = _Summary()
    counts = DataFlashCounts()
    for batch in read_dataflash(path):
        counts = counts + batch.counts
        for name, a in batch.messages.items():
            _dataflash_rows(s, name, a)
    first = int(s.boot[0]) if math.isfinite(s.boot[0]) else None
    last = int(s.boot[1]) if math.isfinite(s.boot[1]) else None
    if s.gps_offsets and first is not None and last is not None:
        shift = int(np.median(s.gps_offsets))
        time = _time(first + shift, last + shift, "TimeUS + GPS time (leap seconds applied)")
    else:
        time = _time(None, None, "TimeUS only (since boot; no GPS time in the log)")
        time["boot_span_s"] = None if first is None or last is None else (last - first) / 1e6
    good = {k: s.rows[k] - s.error_values[k] for k in s.rows}
    return {
        "path": path,
        "kind": "dataflash",
        "bytes": counts.bytes,
        "messages": dict(counts.records),
        "messages_total": sum(counts.records.values()),
        "crc_errors": None,
        "bad_data_bytes": counts.bad_data_bytes,
        "truncated_tail_bytes": counts.truncated_tail_bytes,
        "undecodable_types": list(counts.undecodable),
        "error_values": dict(sorted(s.error_values.items())),
        "err_records": dict(sorted(s.err_records.items())),
        "time": time,
        "position": s.position_report(),
        "camera": {
            "lenses": [],
            "image_events": s.rows["CAM"],
            "gimbal": {"MNT": s.rows["MNT"]} if s.rows["MNT"] else {},
            "geometry_available": {
                "position": any(good.get(k, 0) for k in ("GPS", "GPS2", "POS")),
                "attitude": any(good.get(k, 0) for k in ("ATT", "AHR2")),
                "gimbal": good.get("MNT", 0) > 0,
                "lens": False,  # DataFlash logs carry no lens geometry
                "image_events": good.get("CAM", 0) > 0,
            },
        },
        "problems": [str(p) for p in counts.problems],
    }


def _dataflash_rows(s: _Summary, name: str, a: NDArray[np.void]) -> None:
    """Count a batch's records of one type and their "unknown" values; note time, places."""
    cols: Mapping[str, Any] = a.dtype.fields or {}
    if name in ("FMTU", "UNIT", "MULT") or not len(a):
        return
    if "TimeUS" in cols:
        s.boot[0] = min(s.boot[0], float(a["TimeUS"].min()))
        s.boot[1] = max(s.boot[1], float(a["TimeUS"].max()))
    if name == "ERR" and {"Subsys", "ECode"} <= cols.keys():
        for sub, code in zip(a["Subsys"].tolist(), a["ECode"].tolist(), strict=True):
            s.err_records[f"{sub}.{code}"] += 1
        return
    floats = tuple(c for c, (dt, *_) in cols.items() if dt.kind == "f" and c not in ("Lat", "Lng"))
    invalid = _nan_rows(a, floats)
    if {"Lat", "Lng"} <= cols.keys():
        invalid |= (a["Lat"] == 0) & (a["Lng"] == 0)
        if "Status" in cols:
            invalid |= a["Status"] < 2  # GPS_FIX_TYPE: 0 no GPS, 1 no fix
        alt = a["Alt"] if "Alt" in cols else np.full(len(a), np.nan)
        s.position(name, a["Lat"][~invalid], a["Lng"][~invalid], alt[~invalid])
    s.add(name, invalid)
    if name.startswith("GPS") and {"GWk", "GMS", "TimeUS"} <= cols.keys():
        timed = ~invalid & (a["GWk"] > 0)
        if timed.any():
            utc = gps_utc_us(a["GWk"][timed], a["GMS"][timed])
            room = max(0, 10_000 - len(s.gps_offsets))
            s.gps_offsets.extend((utc - a["TimeUS"][timed].astype(np.int64)).tolist()[:room])
