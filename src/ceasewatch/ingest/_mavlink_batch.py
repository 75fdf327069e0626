"""Decoded MAVLink messages and the counts of a stretch of a tlog.

The message half of `ceasewatch.ingest.mavlink` (see its module docstring): payloads of
one type gathered, zero-extended and scaled to SI units; the frames of a chunk counted
into a `TlogCounts`; both returned as a `TlogBatch`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from ceasewatch.errors import Problem
from ceasewatch.ingest._mavlink_defs import MESSAGE_DTYPES, MESSAGE_NAMES, Message
from ceasewatch.ingest._mavlink_frames import _SIGNATURE, _Frames, _rows

#: Problems (with byte offsets) kept per file; the counts cover everything.
MAX_PROBLEMS: Final = 20


# --- decoded messages ---------------------------------------------------------------------


def _quaternion_euler_deg(
    w: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], z: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Roll, pitch, yaw (degrees, Z-Y-X aerospace order) of w, x, y, z; NaN if not a rotation."""
    norm = np.sqrt(w * w + x * x + y * y + z * z)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = ~(np.abs(norm - 1.0) < 0.1)  # also NaN; a zero quaternion means "not sent"
        w, x, y, z = w / norm, x / norm, y / norm, z / norm
        roll = np.degrees(np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)))
        pitch = np.degrees(np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0)))
        yaw = np.degrees(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    for a in (roll, pitch, yaw):
        a[bad] = np.nan
    return roll, pitch, yaw


def _decode(msg: Message, payload: NDArray[np.uint8], out: NDArray[np.void]) -> None:
    """Fill `out`'s message columns from `payload` (n, full wire length), zero-extended."""
    raw = payload.view(msg.wire)[:, 0]
    for f in msg.fields:
        col = raw[f.raw]
        if f.div:
            val = col / f.div
            for bad in f.invalid:
                val[col == bad] = np.nan
            out[f.out] = val
        else:
            out[f.out] = col
    if msg.name == "GIMBAL_DEVICE_ATTITUDE_STATUS":
        q = [raw[k].astype(np.float64) for k in ("q_w", "q_x", "q_y", "q_z")]
        out["roll_deg"], out["pitch_deg"], out["yaw_deg"] = _quaternion_euler_deg(*q)
        flags = raw["flags"]
        # common.xml: YAW_IN_EARTH_FRAME (64), else YAW_IN_VEHICLE_FRAME (32), else the
        # older rule: YAW_LOCK (16) means earth frame.
        earth = (flags & 64) != 0
        legacy = ((flags & 96) == 0) & ((flags & 16) != 0)
        out["yaw_in_earth_frame"] = earth | legacy


# --- counts and results -------------------------------------------------------------------


_K = TypeVar("_K", int, str)


def _merged(a: Mapping[_K, int], b: Mapping[_K, int]) -> dict[_K, int]:
    total = Counter(a)
    total.update(b)
    return dict(sorted(total.items()))


def _extreme(a: int | None, b: int | None, pick: Callable[[int, int], int]) -> int | None:
    return b if a is None else a if b is None else pick(a, b)


@dataclass(frozen=True, slots=True)
class TlogCounts:
    """What a stretch of a tlog held. Batches add up (`a + b`) to the whole file's counts.

    Attributes:
        frames: frames whose CRC checked, by message name.
        crc_errors: frames of a known id whose CRC failed (corrupt, or the sender used another
            definition of the message), by message name; not decoded.
        unknown_ids: frames whose id is not in the table (CRC not checkable), by id.
        bad_data_bytes: bytes that were no record, skipped while resynchronising.
        truncated_tail_bytes: an incomplete record cut off by the end of the file.
        bytes: every byte accounted for (frames + bad data + truncated tail).
        mavlink1, mavlink2, signed: records by protocol version; MAVLink 2 frames signed.
        t_min_us, t_max_us: earliest and latest tlog timestamp of a frame (None: no frame).
        problems: the first few damaged places, each with its byte offset.
    """

    frames: Mapping[str, int] = field(default_factory=dict)
    crc_errors: Mapping[str, int] = field(default_factory=dict)
    unknown_ids: Mapping[int, int] = field(default_factory=dict)
    bad_data_bytes: int = 0
    truncated_tail_bytes: int = 0
    bytes: int = 0
    mavlink1: int = 0
    mavlink2: int = 0
    signed: int = 0
    t_min_us: int | None = None
    t_max_us: int | None = None
    problems: tuple[Problem, ...] = ()

    def __add__(self, other: TlogCounts) -> TlogCounts:
        return TlogCounts(
            frames=_merged(self.frames, other.frames),
            crc_errors=_merged(self.crc_errors, other.crc_errors),
            unknown_ids=_merged(self.unknown_ids, other.unknown_ids),
            bad_data_bytes=self.bad_data_bytes + other.bad_data_bytes,
            truncated_tail_bytes=self.truncated_tail_bytes + other.truncated_tail_bytes,
            bytes=self.bytes + other.bytes,
            mavlink1=self.mavlink1 + other.mavlink1,
            mavlink2=self.mavlink2 + other.mavlink2,
            signed=self.signed + other.signed,
            t_min_us=_extreme(self.t_min_us, other.t_min_us, min),
            t_max_us=_extreme(self.t_max_us, other.t_max_us, max),
            problems=(self.problems + other.problems)[:MAX_PROBLEMS],
        )

    @property
    def total_frames(self) -> int:
        """Every frame found: checked, failed and unknown."""
        return (
            sum(self.frames.values())
            + sum(self.crc_errors.values())
            + sum(self.unknown_ids.values())
        )


@dataclass(frozen=True, slots=True)
class TlogBatch:
    """The frames decided in one chunk of a tlog.

    Attributes:
        messages: decoded messages by type name (only types asked for and present), as
            structured arrays of `MESSAGE_DTYPES[name]`, in file order.
        counts: what this stretch held.
    """

    messages: Mapping[str, NDArray[np.void]]
    counts: TlogCounts


@dataclass(frozen=True, slots=True)
class Tlog:
    """A whole tlog, decoded: `messages` by type name and the file's `counts`."""

    path: str
    messages: Mapping[str, NDArray[np.void]]
    counts: TlogCounts


# --- one chunk ----------------------------------------------------------------------------


class _Batch:
    """Counts, and the frames to decode, gathered while scanning one buffer."""

    def __init__(self, base: int, where: str) -> None:
        self.base = base  # file offset of the buffer
        self.where = where
        self.frames: Counter[int] = Counter()
        self.crc_errors: Counter[int] = Counter()
        self.unknown: Counter[int] = Counter()
        self.sizes = {"bad": 0, "tail": 0, "all": 0, "v1": 0, "v2": 0, "signed": 0}
        self.t_min: int | None = None
        self.t_max: int | None = None
        self.problems: list[Problem] = []
        self.good: list[_Frames] = []

    def problem(self, file_offset: int, what: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            where = f"{self.where} byte {file_offset}"
            self.problems.append(Problem(where, what, "warning"))

    def tail(self, offset: int, size: int) -> None:
        if size > 0:
            self.sizes["tail"] += size
            self.sizes["all"] += size
            what = f"the file ends inside a record; its last {size} bytes ignored"
            self.problem(self.base + offset, what)

    def add(
        self,
        arr: NDArray[np.uint8],
        fr: _Frames,
        known: NDArray[np.bool_],
        ok: NDArray[np.bool_],
        wanted: Mapping[int, Message],
    ) -> None:
        if not len(fr.start):
            return
        ends = fr.payload + fr.length + 2 + (fr.flags & 1) * _SIGNATURE
        signed = int((fr.flags & 1).sum())
        nv2 = int(fr.v2.sum())
        for key, value in (
            ("all", int((ends - fr.start).sum())),
            ("v1", len(fr.start) - nv2),
            ("v2", nv2),
            ("signed", signed),
        ):
            self.sizes[key] += value
        stamps = fr.stamp
        self.t_min = _extreme(self.t_min, int(stamps.min()), min)
        self.t_max = _extreme(self.t_max, int(stamps.max()), max)
        good = known & ok
        self.frames.update(_count(fr.msgid[good]))
        self.unknown.update(_count(fr.msgid[~known]))
        failed = np.flatnonzero(known & ~ok)
        self.crc_errors.update(_count(fr.msgid[failed]))
        for i in failed[:MAX_PROBLEMS].tolist():
            name = MESSAGE_NAMES[int(fr.msgid[i])]
            self.problem(self.base + int(fr.start[i]), f"{name} frame fails its CRC; not decoded")
        keep = np.flatnonzero(good & np.isin(fr.msgid, list(wanted)))
        if len(keep):
            self.good.append(fr.take(keep))

    def result(self, arr: NDArray[np.uint8], wanted: Mapping[int, Message]) -> TlogBatch:
        messages: dict[str, NDArray[np.void]] = {}
        if self.good:
            fr = _Frames.join(self.good)
            for msgid, msg in wanted.items():
                sel = np.flatnonzero(fr.msgid == msgid)
                if len(sel):
                    messages[msg.name] = _assemble(arr, fr.take(sel), msg, self.base)
        s = self.sizes
        counts = TlogCounts(
            frames={MESSAGE_NAMES[k]: v for k, v in sorted(self.frames.items())},
            crc_errors={MESSAGE_NAMES[k]: v for k, v in sorted(self.crc_errors.items())},
            unknown_ids=dict(sorted(self.unknown.items())),
            bad_data_bytes=s["bad"],
            truncated_tail_bytes=s["tail"],
            bytes=s["all"],
            mavlink1=s["v1"],
            mavlink2=s["v2"],
            signed=s["signed"],
            t_min_us=self.t_min,
            t_max_us=self.t_max,
            problems=tuple(self.problems),
        )
        return TlogBatch(messages, counts)


def _count(ids: NDArray[np.int64]) -> dict[int, int]:
    values, counts = np.unique(ids, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def _assemble(arr: NDArray[np.uint8], fr: _Frames, msg: Message, base: int) -> NDArray[np.void]:
    """Decode the frames `fr`, all of message `msg`, into a `MESSAGE_DTYPES` array."""
    size = msg.wire.itemsize
    payload = _rows(arr, fr.payload, size)
    payload[np.arange(size)[None, :] >= fr.length[:, None]] = 0  # zero-extend (v2 trims)
    out = np.empty(len(fr.start), dtype=MESSAGE_DTYPES[msg.name])
    out["file_offset"] = fr.start + base
    out["t_us"] = fr.stamp
    seq = fr.start + np.where(fr.v2, 12, 10)
    out["sysid"] = arr[seq + 1]
    out["compid"] = arr[seq + 2]
    _decode(msg, payload, out)
    return out
