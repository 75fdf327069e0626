"""Steps every track reader shares: time order, alignment of attitude and gimbal samples to
position samples, and the assembly of a `Track`.

Telemetry carries position, attitude and gimbal angles as separate message streams at their
own rates. A `Track` has one row per position sample; `Aligner` gives each row the value of
every other stream at that time: interpolated between the samples just before and just
after it (yaw the short way round), or the latest sample before it when no later one is
close, and NaN when the nearest earlier sample is older than the stream's `max_gap_us`.
It works while the file streams in: a position sample waits until the file's clock has
passed it by the longest gap (no later message could still bracket it), and each stream
keeps only the samples the waiting positions may need, so memory does not grow with the
file beyond the output arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.ingest.track import GIMBAL_BODY, Track, TrackReport

__all__ = [
    "Aligner",
    "Column",
    "Monotone",
    "StreamSpec",
    "build_track",
    "camera_columns",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: How a stream's column is carried to a position sample's time.
Column = Literal["linear", "angle", "hold"]

#: What a track needs to be anything: the readers' words for "no sample".
_NO_SAMPLE: Final = "no usable sample"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A stream of samples to align to the positions.

    Attributes:
        kinds: per column, "linear" (interpolated), "angle" (degrees, interpolated the short
            way round, result in [0, 360)) or "hold" (the earlier sample's value; samples
            whose hold values differ are never interpolated between: a frame code).
        max_gap_us: the oldest an earlier sample may be, and the widest two samples that
            are interpolated between may lie apart.
    """

    kinds: tuple[Column, ...]
    max_gap_us: int


class Monotone:
    """Keeps samples whose time is strictly after every earlier one; counts the others."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.backwards = 0
        self.duplicates = 0

    def keep(self, t: IntArray) -> NDArray[np.bool_]:
        """Which of `t` (in file order) to keep; the running maximum carries over calls."""
        if not len(t):
            return np.zeros(0, dtype=bool)
        floor = np.iinfo(np.int64).min if self.last is None else self.last
        before = np.maximum.accumulate(np.concatenate([[floor], t[:-1]]))
        before = np.maximum(before, floor)
        keep = t > before
        self.backwards += int((t < before).sum())
        self.duplicates += int((t == before).sum())
        self.last = max(floor, int(t.max()))
        return keep


class _Stream:
    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self.t = np.empty(0, dtype=np.int64)
        self.v = np.empty((0, len(spec.kinds)), dtype=np.float64)
        self.order = Monotone()
        self.hold = np.array([k == "hold" for k in spec.kinds], dtype=bool)

    def add(self, t: IntArray, v: FloatArray) -> None:
        keep = self.order.keep(t)
        if keep.any():
            self.t = np.concatenate([self.t, t[keep]])
            self.v = np.concatenate([self.v, v[keep]])

    def trim(self, cutoff: int) -> None:
        """Drop the samples no position at or after `cutoff` can use."""
        first = max(0, int(np.searchsorted(self.t, cutoff, side="right")) - 1)
        if first:
            self.t, self.v = self.t[first:], self.v[first:]

    def at(self, tq: IntArray) -> tuple[FloatArray, NDArray[np.bool_]]:
        """The stream's values at times `tq`, and where it had a sample close enough."""
        k = len(self.spec.kinds)
        out = np.full((len(tq), k), np.nan)
        n = len(self.t)
        if n == 0 or not len(tq):
            return out, np.zeros(len(tq), dtype=bool)
        gap = self.spec.max_gap_us
        i = np.searchsorted(self.t, tq, side="right") - 1
        ic = np.clip(i, 0, n - 1)
        j = np.minimum(ic + 1, n - 1)
        t0, t1 = self.t[ic], self.t[j]
        ok = (i >= 0) & (tq - t0 <= gap)
        v0, v1 = self.v[ic], self.v[j]
        same_hold = np.all((v0 == v1)[:, self.hold], axis=1) if self.hold.any() else True
        between = ok & (j > ic) & (t1 - t0 <= gap) & same_hold
        span = np.where(between, t1 - t0, 1).astype(np.float64)
        w = np.where(between, (tq - t0) / span, 0.0)
        for c, kind in enumerate(self.spec.kinds):
            a, b = v0[:, c], v1[:, c]
            if kind == "hold":
                val = a
            else:
                d = b - a
                if kind == "angle":
                    d = (d + 180.0) % 360.0 - 180.0
                val = np.where(np.isfinite(b), a + w * d, a)
                if kind == "angle":
                    val = val % 360.0
            out[:, c] = np.where(ok, val, np.nan)
        return out, ok


class Aligner:
    """Position samples in, each with every stream's value at its time out (see the module
    docstring). Positions must come in time order (filter them with `Monotone`)."""

    def __init__(self, n_position_cols: int, streams: Mapping[str, StreamSpec]) -> None:
        self._streams = {name: _Stream(spec) for name, spec in streams.items()}
        self._wait_us = max((s.max_gap_us for s in streams.values()), default=0)
        self._pt = np.empty(0, dtype=np.int64)
        self._pv = np.empty((0, n_position_cols), dtype=np.float64)
        self._out_t: list[IntArray] = []
        self._out_p: list[FloatArray] = []
        self._out_s: dict[str, list[FloatArray]] = {name: [] for name in streams}
        self.missing: dict[str, int] = dict.fromkeys(streams, 0)
        self.positions = 0

    def add_positions(self, t: IntArray, values: FloatArray) -> None:
        """Position samples (times after every earlier one), as rows of `values`."""
        if len(t):
            self._pt = np.concatenate([self._pt, t])
            self._pv = np.concatenate([self._pv, values])
            self.positions += len(t)

    def add(self, stream: str, t: IntArray, values: FloatArray) -> None:
        """Samples of one stream (file order; those going back in time are dropped)."""
        if len(t):
            self._streams[stream].add(t, values)

    def dropped(self, stream: str) -> int:
        """Samples of a stream dropped because their time went backwards or repeated."""
        order = self._streams[stream].order
        return order.backwards + order.duplicates

    def advance(self, now_us: int | None) -> None:
        """The file's clock has reached `now_us`: settle the positions no later message can
        change, and forget the stream samples no waiting position needs."""
        if now_us is None:
            return
        self._settle(int(np.searchsorted(self._pt, now_us - self._wait_us, side="left")))
        cutoff = int(self._pt[0]) if len(self._pt) else now_us - self._wait_us
        for s in self._streams.values():
            s.trim(cutoff)

    def finish(self) -> tuple[IntArray, FloatArray, dict[str, FloatArray]]:
        """Settle everything: (times, position rows, {stream: value rows})."""
        self._settle(len(self._pt))
        t = np.concatenate([np.empty(0, dtype=np.int64), *self._out_t])
        p = np.concatenate([self._pv[:0], *self._out_p])
        values = {
            name: np.concatenate([np.empty((0, len(s.spec.kinds))), *self._out_s[name]])
            for name, s in self._streams.items()
        }
        return t, p, values

    def _settle(self, n: int) -> None:
        if n <= 0:
            return
        t, p = self._pt[:n], self._pv[:n]
        self._pt, self._pv = self._pt[n:], self._pv[n:]
        self._out_t.append(t)
        self._out_p.append(p)
        for name, s in self._streams.items():
            vals, ok = s.at(t)
            self._out_s[name].append(vals)
            self.missing[name] += int((~ok).sum())


def camera_columns(pos: FloatArray, att: FloatArray, gimbal: FloatArray) -> dict[str, FloatArray]:
    """`build_track` columns from (N, 3) position (lat, lon, alt), attitude (yaw, pitch,
    roll) and gimbal (yaw, pitch, roll, ...) arrays aligned to the same samples."""
    return {
        "lat_deg": pos[:, 0],
        "lon_deg": pos[:, 1],
        "alt_m": pos[:, 2],
        "yaw_deg": att[:, 0],
        "pitch_deg": att[:, 1],
        "roll_deg": att[:, 2],
        "gimbal_yaw_deg": gimbal[:, 0],
        "gimbal_pitch_deg": gimbal[:, 1],
        "gimbal_roll_deg": gimbal[:, 2],
    }


def build_track(
    where: str,
    fmt: str,
    t_us: IntArray,
    columns: Mapping[str, FloatArray],
    *,
    counts: Mapping[str, int],
    problems: Sequence[Problem] = (),
    gimbal_frame: NDArray[np.int8] | None = None,
    corners: tuple[FloatArray, FloatArray] | None = None,
    why_empty: str = "",
) -> Track:
    """A `Track` of samples in time order; samples whose time is not after every earlier
    one are dropped and counted (`time_backwards`, `duplicate_time`).

    Args:
        where: the file, for the report and the problems.
        fmt: "tlog", "dataflash", "klv" or "csv".
        t_us: UTC times (microseconds since 1970), in file order.
        columns: lat_deg, lon_deg, alt_m and any of the Track's float columns (missing: NaN).
        counts: what the reader dropped or met, by name (zeros are left out).
        problems: what the user should know.
        gimbal_frame: frame codes (default GIMBAL_BODY).
        corners: (lat, lon) arrays (N, 4) of frame corners, when the source has them.
        why_empty: what to say when no sample is left.

    Raises:
        InvalidInput: no sample is left.
    """
    n = len(t_us)
    order = Monotone()
    keep = order.keep(t_us.astype(np.int64))
    all_counts = dict(counts)
    all_counts["time_backwards"] = all_counts.get("time_backwards", 0) + order.backwards
    all_counts["duplicate_time"] = all_counts.get("duplicate_time", 0) + order.duplicates
    all_counts = {k: int(v) for k, v in sorted(all_counts.items()) if v}
    notes = list(problems)
    back = all_counts.get("time_backwards", 0)
    if back:
        notes.append(
            Problem(
                where,
                f"{back} sample(s) whose time goes backwards dropped (a clock reset or "
                "samples out of order); check the recording's clock",
                "warning",
            )
        )
    kept = int(keep.sum())
    if kept == 0:
        reason = why_empty or "no sample with a time and a position"
        shown = ", ".join(f"{k} {v}" for k, v in all_counts.items())
        raise InvalidInput(
            f"{where}: {_NO_SAMPLE}: {reason}" + (f" ({shown})" if shown else ""), notes
        )

    def col(name: str) -> FloatArray:
        a = columns.get(name)
        if a is None:
            return np.full(kept, np.nan)
        return np.ascontiguousarray(np.asarray(a, dtype=np.float64)[keep])

    frame = (np.full(n, GIMBAL_BODY, dtype=np.int8) if gimbal_frame is None else gimbal_frame)[
        keep
    ].astype(np.int8)
    report = TrackReport(where, fmt, kept, all_counts, tuple(notes))
    return Track(
        t_us=np.ascontiguousarray(t_us[keep], dtype=np.int64),
        lat_deg=col("lat_deg"),
        lon_deg=col("lon_deg"),
        alt_m=col("alt_m"),
        yaw_deg=col("yaw_deg"),
        pitch_deg=col("pitch_deg"),
        roll_deg=col("roll_deg"),
        gimbal_yaw_deg=col("gimbal_yaw_deg"),
        gimbal_pitch_deg=col("gimbal_pitch_deg"),
        gimbal_roll_deg=col("gimbal_roll_deg"),
        gimbal_frame=frame,
        hfov_deg=col("hfov_deg"),
        vfov_deg=col("vfov_deg"),
        report=report,
        corners_lat_deg=None if corners is None else np.ascontiguousarray(corners[0][keep]),
        corners_lon_deg=None if corners is None else np.ascontiguousarray(corners[1][keep]),
    )
