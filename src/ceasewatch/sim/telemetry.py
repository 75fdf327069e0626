"""A scenario's drone telemetry as files: one per sortie, and a manifest.

`write_telemetry` flies every sortie of a scenario (`flights.fly`) and writes it to
`telemetry/<sortie>.tlog` (QGroundControl tlog, `tlog_writer`) or, for the drones named
in `klv_drones`, `telemetry/<sortie>.klv` (MISB ST 0601 stream, `klv_writer`), and lists
them in `telemetry/sorties.csv` (sortie, drone, org, camera, file, start, end). Drones
are told apart in the tlogs by their MAVLink system id: 1 + their index in id order.
Drones of even index report their gimbal with MOUNT_ORIENTATION, the others with
GIMBAL_DEVICE_ATTITUDE_STATUS, so both readers get exercised.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.records import format_time
from ceasewatch.sim.flights import Sortie, fly
from ceasewatch.sim.klv_writer import write_klv
from ceasewatch.sim.tlog_writer import write_tlog

__all__ = [
    "DEFAULT_RATE_HZ",
    "MANIFEST_COLUMNS",
    "MAX_RATE_HZ",
    "check_rate",
    "default_klv_drones",
    "write_telemetry",
]

#: Samples per second written by default: a day of the demo theater stays tens of MB.
DEFAULT_RATE_HZ = 1.0
#: Fastest rate accepted: frames of one sample go out 100 µs apart in a tlog.
MAX_RATE_HZ = 50.0
MANIFEST_COLUMNS = ("sortie", "drone", "org", "camera", "file", "start", "end")


def check_rate(rate_hz: float) -> None:
    """Refuse a telemetry rate outside (0, MAX_RATE_HZ].

    Raises:
        InvalidInput: it is.
    """
    if not 0 < rate_hz <= MAX_RATE_HZ:
        raise InvalidInput(f"the telemetry rate must be in (0, {MAX_RATE_HZ:g}] Hz, got {rate_hz}")


def default_klv_drones(theater: Theater) -> tuple[str, ...]:
    """The drones that send KLV by default: the last in id order (none if no drones)."""
    ids = sorted(theater.drones)
    return tuple(ids[-1:])


def write_telemetry(
    theater: Theater,
    sorties: Sequence[Sortie],
    out: Path,
    *,
    rate_hz: float = DEFAULT_RATE_HZ,
    klv_drones: Collection[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Write each sortie's telemetry file and `sorties.csv` into `out`; return the paths
    by sortie id (and "sorties" for the manifest).

    Args:
        rate_hz: samples per second.
        klv_drones: drones whose sorties are written as KLV instead of tlog (default:
            `default_klv_drones`).

    Raises:
        InvalidInput: `rate_hz` is not in (0, MAX_RATE_HZ].
    """
    check_rate(rate_hz)
    out.mkdir(parents=True, exist_ok=True)
    klv = set(default_klv_drones(theater) if klv_drones is None else klv_drones)
    index = {d: i for i, d in enumerate(sorted(theater.drones))}
    paths: dict[str, Path] = {}
    rows: list[dict[str, str]] = []
    for sortie in sorted(sorties, key=lambda s: (s.takeoff, s.id)):
        if progress:
            progress(f"flying {sortie.id}")
        flight = fly(sortie, theater, rate_hz)
        i = index[sortie.drone]
        if sortie.drone in klv:
            path = write_klv(flight, out / f"{sortie.id}.klv")
        else:
            path = write_tlog(
                flight,
                theater.cameras[sortie.camera],
                out / f"{sortie.id}.tlog",
                sysid=1 + i,
                gimbal="MOUNT_ORIENTATION" if i % 2 == 0 else "GIMBAL_DEVICE_ATTITUDE_STATUS",
            )
        paths[sortie.id] = path
        rows.append(
            {
                "sortie": sortie.id,
                "drone": sortie.drone,
                "org": sortie.org,
                "camera": sortie.camera,
                "file": path.name,
                "start": format_time(flight.start),
                "end": format_time(flight.end),
            }
        )
    manifest = out / "sorties.csv"
    with manifest.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    paths["sorties"] = manifest
    return paths
