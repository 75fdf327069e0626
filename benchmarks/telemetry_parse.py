"""Speed of the telemetry readers against pymavlink, on the same file in the same run.

Takes the real ArduSub tlog (../shared/data/samples/mavlink/ardusub_small.tlog, 1.5 MB,
35 916 frames), writes N copies of it end to end to a temporary file, and reads that file
  - with pymavlink: `mavutil.mavlink_connection(path).recv_match(type=[...])` until None;
  - with ceasewatch: `load_tlog(path)` (every frame's CRC checked, the types decoded).
Both count the messages of the decoded types (GLOBAL_POSITION_INT, GPS_RAW_INT, ATTITUDE,
MOUNT_ORIENTATION, GIMBAL_DEVICE_ATTITUDE_STATUS, MOUNT_STATUS, CAMERA_INFORMATION,
CAMERA_FEEDBACK); the counts must agree. Prints messages per second and the ratio
(target: ceasewatch >= 10x pymavlink). `--dataflash` does the same for the ArduSub .BIN
against pymavlink's DFReader (GPS, POS, ATT, AHR2, MNT, CAM).

    .venv/bin/python benchmarks/telemetry_parse.py [--copies 8] [--repeat 3] [--dataflash]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pymavlink import DFReader, mavutil

from ceasewatch.ingest import TLOG_TYPES, load_dataflash, load_tlog

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples" / "mavlink"
DF_TYPES = ["GPS", "POS", "ATT", "AHR2", "MNT", "CAM"]


def _best(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Fastest wall time of `repeat` runs, and what the run counted."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = run()
        best = min(best, time.perf_counter() - t0)
    return best, count


def _pymavlink_tlog(path: Path) -> int:
    conn = mavutil.mavlink_connection(str(path), dialect="ardupilotmega")
    n = 0
    while conn.recv_match(type=list(TLOG_TYPES)) is not None:
        n += 1
    conn.close()
    return n


def _ceasewatch_tlog(path: Path) -> int:
    log = load_tlog(path)
    return sum(len(a) for a in log.messages.values())


def _pymavlink_dataflash(path: Path) -> int:
    reader = DFReader.DFReader_binary(str(path))
    n = 0
    while reader.recv_match(type=DF_TYPES) is not None:
        n += 1
    reader.close()
    return n


def _ceasewatch_dataflash(path: Path) -> int:
    log = load_dataflash(path, types=DF_TYPES)
    return sum(len(a) for a in log.messages.values())


def _compare(
    title: str,
    sample: Path,
    copies: int,
    repeat: int,
    runs: tuple[Callable[[Path], int], Callable[[Path], int]],
) -> None:
    data = sample.read_bytes() * copies
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / sample.name
        path.write_bytes(data)
        t_ref, n_ref = _best(lambda: runs[0](path), 1)  # pymavlink: slow, once is enough
        t_cw, n_cw = _best(lambda: runs[1](path), repeat)
    assert n_ref == n_cw, f"counts differ: pymavlink {n_ref}, ceasewatch {n_cw}"
    mb = len(data) / 1e6
    print(f"{title}: {sample.name} x {copies} = {mb:.1f} MB, {n_cw} messages of the decoded types")
    print(f"  pymavlink   {t_ref:8.3f} s  {n_ref / t_ref:12,.0f} msg/s  {mb / t_ref:7.1f} MB/s")
    print(f"  ceasewatch  {t_cw:8.3f} s  {n_cw / t_cw:12,.0f} msg/s  {mb / t_cw:7.1f} MB/s")
    print(f"  ratio       {t_ref / t_cw:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8, help="copies of the sample (8: 12 MB)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many ceasewatch runs")
    parser.add_argument("--dataflash", action="store_true", help="also DataFlash vs DFReader")
    args = parser.parse_args()
    tlog = SAMPLES / "ardusub_small.tlog"
    if not tlog.is_file():
        raise SystemExit(f"sample not found: {tlog}")
    runs_tlog = (_pymavlink_tlog, _ceasewatch_tlog)
    _compare("tlog", tlog, args.copies, args.repeat, runs_tlog)
    if args.dataflash:
        runs_df = (_pymavlink_dataflash, _ceasewatch_dataflash)
        _compare("DataFlash", SAMPLES / "ardusub_small.BIN", args.copies, args.repeat, runs_df)


if __name__ == "__main__":
    main()
