"""`inspect_telemetry` tells MISB ST 0601 KLV streams apart by content, like tlogs and
DataFlash logs (those are covered in test_mavlink.py and test_dataflash.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest import inspect_telemetry, telemetry_kind
from ceasewatch.ingest.klv import UAS_LS_KEY
from tests.ingest.common import item, packet, smap, t_item


@pytest.mark.samples
@pytest.mark.parametrize(
    ("name", "packets", "checksum_failures"),
    [
        ("klvdata_DynamicOnlyMISMMSPacketData.bin", 1, 0),
        # Its published checksum is wrong (see test_klv.py): still KLV, packet skipped.
        ("klvdata_DynamicConstantMISMMSPacketData.bin", 0, 1),
    ],
)
def test_real_klv_sample(
    samples_dir: Path, name: str, packets: int, checksum_failures: int
) -> None:
    path = samples_dir / "klv" / name
    summary = inspect_telemetry(path)
    assert summary["kind"] == "klv" and summary["path"] == str(path)
    assert summary["bytes"] == path.stat().st_size
    assert (summary["packets"], summary["checksum_failures"]) == (packets, checksum_failures)


def test_built_klv_stream_named_like_a_tlog(tmp_path: Path) -> None:
    first = packet([t_item(1_000_000), item(13, smap(48.5, 4, 90)), item(14, smap(35, 4, 180))])
    second = packet([t_item(3_000_000), item(13, smap(48.6, 4, 90)), item(14, smap(35, 4, 180))])
    data = b"\x00junk" + first + second  # the key need not be at byte 0
    path = tmp_path / "flight.tlog"
    path.write_bytes(data)
    assert telemetry_kind(data) == "klv"
    summary = inspect_telemetry(path)
    assert list(summary)[:2] == ["path", "kind"]
    assert summary["kind"] == "klv" and summary["path"] == str(path)
    assert (summary["packets"], summary["bad_bytes"], summary["bytes"]) == (2, 5, len(data))
    assert summary["time_span_s"] == 2.0
    assert summary["sensor_lat_deg"] == [pytest.approx(48.5), pytest.approx(48.6)]
    assert summary["geometry"]["sensor_position"] == 2


def test_a_cut_key_is_not_klv_and_the_error_says_what_would_be(tmp_path: Path) -> None:
    path = tmp_path / "almost.klv"
    path.write_bytes(UAS_LS_KEY[:-1] + b"\xff" * 200)  # the key ends in 00
    assert telemetry_kind(path.read_bytes()) is None
    with pytest.raises(InvalidInput, match="not a MAVLink telemetry log") as err:
        inspect_telemetry(path)
    assert "MISB ST 0601 KLV" in str(err.value) and UAS_LS_KEY.hex(" ") in str(err.value)
