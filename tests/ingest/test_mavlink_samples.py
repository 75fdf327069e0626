"""The tlog reader on a real ArduSub log, checked against pymavlink's own reader."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymavlink import mavutil

from ceasewatch.ingest import inspect_telemetry
from ceasewatch.ingest._mavlink_defs import BY_NAME
from ceasewatch.ingest.mavlink import TLOG_TYPES, Tlog, load_tlog

pytestmark = pytest.mark.samples


@pytest.fixture(scope="module")
def tlog(samples_dir: Path) -> Path:
    """../shared/data/samples/mavlink/ardusub_small.tlog (tests/conftest.py finds it)."""
    path = samples_dir / "mavlink" / "ardusub_small.tlog"
    if not path.is_file():
        pytest.skip(f"real sample {path} not found")
    return path


@cache
def pymavlink_messages(path: Path) -> list[Any]:
    """Every message pymavlink reads from the log (its BAD_DATA included), in order."""
    conn = mavutil.mavlink_connection(str(path), dialect="ardupilotmega")
    out = []
    while (msg := conn.recv_match()) is not None:
        out.append(msg)
    conn.close()
    return out


@cache
def ours(path: Path, chunk_bytes: int = 4 << 20) -> Tlog:
    return load_tlog(path, chunk_bytes=chunk_bytes)


def test_counts_equal_pymavlinks(tlog: Path) -> None:
    theirs = Counter(m.get_type() for m in pymavlink_messages(tlog))
    assert sum(theirs.values()) == 35_916 and len(theirs) == 47
    counts = ours(tlog).counts
    bad = theirs.pop("BAD_DATA")
    assert dict(counts.frames) == dict(theirs)
    # pymavlink's BAD_DATA here are frames from the camera manager (component 100) whose
    # CRC does not check against ardupilotmega's definitions: ours are CRC errors.
    assert sum(counts.crc_errors.values()) == bad == 4
    assert counts.total_frames == 35_916
    assert counts.bad_data_bytes == counts.truncated_tail_bytes == 0
    assert counts.bytes == tlog.stat().st_size
    for name in TLOG_TYPES:
        assert len(ours(tlog).messages.get(name, ())) == theirs.get(name, 0), name


def _reference(msg: Any, name: str, column: str) -> float | int | None:
    spec = next((f for f in BY_NAME[name].fields if f.out == column), None)
    if spec is None:
        return None
    raw = getattr(msg, spec.raw)
    if spec.div:
        return float("nan") if raw in spec.invalid else raw / spec.div
    return float(raw) if isinstance(raw, float) else int(raw)


@pytest.mark.parametrize("name", ["GLOBAL_POSITION_INT", "ATTITUDE", "GPS_RAW_INT", "MOUNT_STATUS"])
def test_values_equal_pymavlinks_field_by_field(tlog: Path, name: str) -> None:
    theirs = [m for m in pymavlink_messages(tlog) if m.get_type() == name]
    arr = ours(tlog).messages[name]
    assert len(arr) == len(theirs) > 0
    for column in arr.dtype.names or ():
        if column == "file_offset":
            continue
        if column == "t_us":  # pymavlink keeps the tlog time as float seconds
            got = arr["t_us"] * 1e-6
            want = np.array([m._timestamp for m in theirs])
        elif column in ("sysid", "compid"):
            got = arr[column]
            attr = "get_srcSystem" if column == "sysid" else "get_srcComponent"
            want = np.array([getattr(m, attr)() for m in theirs])
        else:
            got = arr[column].astype(np.float64)
            want = np.array([_reference(m, name, column) for m in theirs], dtype=np.float64)
        np.testing.assert_array_equal(got, want, err_msg=f"{name}.{column}")


def test_small_chunks_give_identical_results(tlog: Path) -> None:
    whole = ours(tlog)
    for chunk in (997, 65_536):
        part = ours(tlog, chunk)
        assert part.counts == whole.counts
        for name, arr in whole.messages.items():
            assert part.messages[name].tobytes() == arr.tobytes(), (chunk, name)


def test_inspect(tlog: Path) -> None:
    s = inspect_telemetry(tlog)
    assert s["kind"] == "tlog" and s["messages_total"] == 35_916
    assert sum(s["crc_errors"].values()) == 4 and s["crc_errors"]["CAMERA_INFORMATION"] == 1
    assert s["time"]["first_utc"].startswith("2023-05-04T17:15:41")
    assert s["time"]["span_s"] == pytest.approx(263.43, abs=0.01)
    pos = s["position"]["GLOBAL_POSITION_INT"]
    assert pos["n"] == 792 and 48.38 < pos["lat_min_deg"] <= pos["lat_max_deg"] < 48.39
    geo = s["camera"]["geometry_available"]
    assert geo["position"] and geo["attitude"] and geo["gimbal"]
    assert not geo["lens"]  # its CAMERA_INFORMATION fails the CRC: no lens geometry
    assert s["error_values"]["GPS_RAW_INT"] == 39  # no fix yet
