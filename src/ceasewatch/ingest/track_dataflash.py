"""A `Track` from an ArduPilot DataFlash log (.bin), streamed.

Records (ArduPilot's LogStructure.h, as the log's own FMT records define them):

- position: POS (the EKF's Lat, Lng, Alt above mean sea level) where the log has it, else
  GPS with a 3D fix (Status >= 3); a 0, 0 position means "none";
- attitude: ATT (Roll, Pitch, Yaw in degrees, yaw from true north);
- gimbal: MNT (ArduPilot 4.3 on: Roll and Pitch earth-frame, YawB relative to the vehicle,
  YawE from north: `GIMBAL_HORIZON` with YawB, or `GIMBAL_EARTH` with YawE when YawB is
  unknown) or MOUN (older: Roll, Pitch, Yaw read the same way).

Time: records carry TimeUS, microseconds since boot; streams are aligned on it. UTC is
TimeUS plus the offset GPS records give (their GPS week and milliseconds through
`dataflash.gps_utc_us`, leap seconds applied): the median offset of each chunk's GPS
records, applied from the first record of that chunk on (and to earlier samples, the
first offset). A log with no GPS time cannot be placed in UTC and is refused.
"""

from __future__ import annotations

from typing import IO, Final

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import Problem
from ceasewatch.ingest.dataflash import DataFlashCounts, gps_utc_us
from ceasewatch.ingest.dataflash import read_dataflash as _read
from ceasewatch.ingest.mavlink import DEFAULT_CHUNK_BYTES
from ceasewatch.ingest.track import GIMBAL_EARTH, GIMBAL_HORIZON, Track
from ceasewatch.ingest.track_align import (
    Aligner,
    Monotone,
    StreamSpec,
    build_track,
    camera_columns,
)
from ceasewatch.ingest.track_mavlink import ATTITUDE_GAP_US, GIMBAL_GAP_US

__all__ = ["dataflash_track"]

FloatArray = NDArray[np.float64]

_TYPES: Final = ("GPS", "POS", "ATT", "MNT", "MOUN")
_STREAMS: Final = {
    "attitude": StreamSpec(("angle", "linear", "linear"), ATTITUDE_GAP_US),
    "gimbal": StreamSpec(("angle", "linear", "linear", "hold"), GIMBAL_GAP_US),
}
_SOURCES: Final = ("POS", "GPS")


def _col(a: NDArray[np.void], *names: str) -> FloatArray:
    """The first of `names` the record type has, as float64 (NaN: none of them)."""
    for name in names:
        if name in (a.dtype.names or ()):
            return a[name].astype(np.float64)
    return np.full(len(a), np.nan)


def _mount(a: NDArray[np.void]) -> FloatArray:
    """(yaw, pitch, roll, frame) rows of MNT or MOUN records."""
    roll = _col(a, "Roll", "ActRoll")
    pitch = _col(a, "Pitch", "ActPitch")
    yaw_b = _col(a, "YawB", "ActYawB", "Yaw", "ActYaw")
    yaw_e = _col(a, "YawE", "ActYawE")
    body = np.isfinite(yaw_b)
    yaw = np.where(body, yaw_b, yaw_e)
    frame = np.where(body, GIMBAL_HORIZON, GIMBAL_EARTH).astype(np.float64)
    return np.column_stack([yaw, pitch, roll, frame])


class _Feed:
    def __init__(self) -> None:
        self.aligners = {src: Aligner(3, _STREAMS) for src in _SOURCES}
        self.order = {src: Monotone() for src in _SOURCES}
        self.offsets: list[tuple[int, int]] = []  # (TimeUS from which, UTC - TimeUS)
        self.dropped = {src: {"no_position": 0, "no_fix": 0} for src in _SOURCES}
        self.now: int | None = None

    def batch(self, messages: dict[str, NDArray[np.void]]) -> None:
        for key, a in messages.items():
            name = key.split(".")[0]
            if not len(a) or "TimeUS" not in (a.dtype.names or ()):
                continue
            t = a["TimeUS"].astype(np.int64)
            self.now = max(int(t.max()), self.now or 0)
            if name in _SOURCES:
                self._positions(name, a, t)
            elif name == "ATT":
                att = np.column_stack([_col(a, "Yaw"), _col(a, "Pitch"), _col(a, "Roll")])
                for aligner in self.aligners.values():
                    aligner.add("attitude", t, att)
            else:
                for aligner in self.aligners.values():
                    aligner.add("gimbal", t, _mount(a))
        for aligner in self.aligners.values():
            aligner.advance(self.now)

    def _positions(self, name: str, a: NDArray[np.void], t: NDArray[np.int64]) -> None:
        lat, lon, alt = _col(a, "Lat"), _col(a, "Lng"), _col(a, "Alt")
        usable = ~((lat == 0) & (lon == 0)) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        usable &= np.isfinite(alt)
        no_fix = np.zeros(len(a), dtype=bool)
        if name == "GPS":
            status = _col(a, "Status")
            no_fix = ~(status >= 3)
            week, ms = _col(a, "GWk"), _col(a, "GMS")
            timed = (week > 0) & np.isfinite(ms)
            if timed.any():
                utc = gps_utc_us(week[timed].astype(np.int64), ms[timed].astype(np.int64))
                offset = int(np.median(utc - t[timed]))
                self.offsets.append((int(t[timed].min()), offset))
        self.dropped[name]["no_fix"] += int(no_fix.sum())
        self.dropped[name]["no_position"] += int((~usable & ~no_fix).sum())
        usable &= ~no_fix
        t, rows = t[usable], np.column_stack([lat, lon, alt])[usable]
        keep = self.order[name].keep(t)
        self.aligners[name].add_positions(t[keep], rows[keep])


def dataflash_track(
    source: IO[bytes], where: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Track:
    """The camera track of a DataFlash log (see the module docstring).

    Raises:
        InvalidInput: the file cannot be read, holds no usable position, or no GPS time.
    """
    feed = _Feed()
    counts = DataFlashCounts()
    for batch in _read(source, types=_TYPES, chunk_bytes=chunk_bytes):
        counts = counts + batch.counts
        feed.batch(dict(batch.messages))
    settled = {src: feed.aligners[src].finish() for src in _SOURCES}
    src = "POS" if len(settled["POS"][0]) else "GPS"
    t_boot, pos, values = settled[src]
    tally: dict[str, int] = {
        "bad_data_bytes": counts.bad_data_bytes,
        "truncated_tail_bytes": counts.truncated_tail_bytes,
        **feed.dropped[src],
        "time_backwards": feed.order[src].backwards,
        "duplicate_time": feed.order[src].duplicates,
    }
    problems: list[Problem] = list(counts.problems)
    empty = np.empty(0, dtype=np.int64)
    if not len(t_boot):
        why = (
            "no POS or GPS record with a position"
            if not any(v for d in feed.dropped.values() for v in d.values())
            else "every POS/GPS record is empty (0, 0) or without a 3D fix"
        )
        return build_track(where, "dataflash", empty, {}, counts=tally, problems=problems,
                           why_empty=why)  # fmt: skip
    if not feed.offsets:
        return build_track(
            where, "dataflash", empty, {}, counts={**tally, "no_utc": len(t_boot)},
            problems=problems,
            why_empty="no GPS record with a GPS week (GWk, GMS): the log's times are since "
            "boot only and cannot be placed in UTC",
        )  # fmt: skip
    aligner = feed.aligners[src]
    tally["no_attitude"] = aligner.missing["attitude"]
    tally["no_gimbal"] = aligner.missing["gimbal"]
    tally["stream_time_backwards"] = aligner.dropped("attitude") + aligner.dropped("gimbal")
    from_us = np.array([o[0] for o in feed.offsets], dtype=np.int64)
    offset = np.array([o[1] for o in feed.offsets], dtype=np.int64)
    i = np.clip(np.searchsorted(from_us, t_boot, side="right") - 1, 0, len(offset) - 1)
    att, gimbal = values["attitude"], values["gimbal"]
    frame = np.where(np.isfinite(gimbal[:, 3]), gimbal[:, 3], 0.0).astype(np.int8)
    columns = camera_columns(pos, att, gimbal)
    return build_track(
        where,
        "dataflash",
        t_boot + offset[i],
        columns,
        counts=tally,
        problems=problems,
        gimbal_frame=frame,
    )
