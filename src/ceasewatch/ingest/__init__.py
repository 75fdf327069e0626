"""Ingest: read what drones and ground stations record, without trusting it.

`mavlink` streams MAVLink telemetry logs (`.tlog`; its message tables are in
`_mavlink_defs`), `dataflash` ArduPilot DataFlash logs (`.bin`), `klv` MISB ST 0601 KLV
streams. `inspect` tells which one a file is from its content (never its name) and
summarises it without storing anything. `track` reads any of them, or the plain CSV track
format (`track_csv`), into one `Track` of camera samples for footprints and coverage.
This module only re-exports their public names.

`klv.inspect` is exported here as `inspect_klv`: the name `inspect` on this package is the
`inspect` submodule.
"""

from __future__ import annotations

from ceasewatch.ingest.dataflash import (
    DATAFLASH_TYPES,
    DataFlashBatch,
    DataFlashCounts,
    DataFlashLog,
    gps_utc_us,
    load_dataflash,
    read_dataflash,
)
from ceasewatch.ingest.inspect import inspect_telemetry, telemetry_kind
from ceasewatch.ingest.klv import (
    MAX_PACKET_BYTES,
    TAGS,
    UAS_LS_KEY,
    KlvPacket,
    KlvStats,
    TagSpec,
    iter_packets,
)
from ceasewatch.ingest.klv import inspect as inspect_klv
from ceasewatch.ingest.mavlink import (
    MESSAGE_DTYPES,
    MESSAGE_NAMES,
    TLOG_TYPES,
    Tlog,
    TlogBatch,
    TlogCounts,
    load_tlog,
    read_tlog,
)
from ceasewatch.ingest.track import Track, TrackReport, read_track

__all__ = [
    "DATAFLASH_TYPES",
    "MAX_PACKET_BYTES",
    "MESSAGE_DTYPES",
    "MESSAGE_NAMES",
    "TAGS",
    "TLOG_TYPES",
    "UAS_LS_KEY",
    "DataFlashBatch",
    "DataFlashCounts",
    "DataFlashLog",
    "KlvPacket",
    "KlvStats",
    "TagSpec",
    "Tlog",
    "TlogBatch",
    "TlogCounts",
    "Track",
    "TrackReport",
    "gps_utc_us",
    "inspect_klv",
    "inspect_telemetry",
    "iter_packets",
    "load_dataflash",
    "load_tlog",
    "read_dataflash",
    "read_tlog",
    "read_track",
    "telemetry_kind",
]
