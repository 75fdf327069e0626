"""`read_track`: format by content, the real samples, and the shared alignment steps."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest.dataflash import load_dataflash
from ceasewatch.ingest.mavlink import load_tlog
from ceasewatch.ingest.track import TRACK_FORMATS, read_track, track_format
from ceasewatch.ingest.track_align import Aligner, Monotone, StreamSpec


def test_wrong_file_type_names_the_formats_accepted(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(500))
    with pytest.raises(InvalidInput) as exc:
        read_track(path)
    text = exc.value.diagnostics()
    assert str(path) in text and "ff d8 ff e0" in text
    for fmt in ("MAVLink telemetry log", "DataFlash", "MISB ST 0601 KLV", "CSV track"):
        assert fmt in text
    empty = tmp_path / "empty.tlog"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        read_track(empty)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_track(tmp_path / "missing.tlog")
    assert track_format(b"") is None and TRACK_FORMATS == ("tlog", "dataflash", "klv", "csv")


def test_monotone_drops_and_counts_across_calls() -> None:
    order = Monotone()
    keep = order.keep(np.array([5, 3, 6, 6, 9], dtype=np.int64))
    assert keep.tolist() == [True, False, True, False, True]
    assert order.keep(np.array([8, 10], dtype=np.int64)).tolist() == [False, True]
    assert (order.backwards, order.duplicates) == (2, 1)


def test_aligner_keeps_little_while_a_long_file_streams() -> None:
    aligner = Aligner(1, {"att": StreamSpec(("angle", "linear"), 1_000)})
    for batch in range(200):  # 200 chunks of 100 positions and 200 attitude samples
        t0 = batch * 100_000
        tp = t0 + 1_000 * np.arange(100, dtype=np.int64) + 250
        ta = t0 + 500 * np.arange(200, dtype=np.int64)
        aligner.add_positions(tp, np.zeros((100, 1)))
        aligner.add("att", ta, np.column_stack([(ta / 1000) % 360, ta / 1e6]))
        aligner.advance(int(ta[-1]))
        assert len(aligner._streams["att"].t) < 250  # not growing with the file
        assert len(aligner._pt) < 110
    t, _, values = aligner.finish()
    assert len(t) == 20_000 and aligner.missing["att"] == 0
    np.testing.assert_allclose(values["att"][:, 0], (t / 1000) % 360, atol=1e-9)


def test_tlog_sample_positions_are_global_position_int(samples_dir: Path) -> None:
    path = samples_dir / "mavlink" / "ardusub_small.tlog"
    gpi = load_tlog(path, types=["GLOBAL_POSITION_INT"]).messages["GLOBAL_POSITION_INT"]
    track = read_track(path)
    assert track.report.format == "tlog" and len(track) == len(gpi) == 792
    np.testing.assert_array_equal(track.t_us, gpi["t_us"])
    np.testing.assert_array_equal(track.lat_deg, gpi["lat_deg"])
    np.testing.assert_array_equal(track.lon_deg, gpi["lon_deg"])
    np.testing.assert_array_equal(track.alt_m, gpi["alt_m"])
    assert abs(track.lat_deg[0] - 48.386) < 0.01 and abs(track.lon_deg[0] + 124.63) < 0.01
    # Four camera messages of another definition fail their CRC: counted, not fatal.
    assert track.report.counts["crc_errors"] == 4
    assert np.isfinite(track.yaw_deg).all()  # ATTITUDE at 20 Hz around every position
    # MOUNT_STATUS (all zeros in this sub's log) is read as a horizon-frame gimbal.
    assert np.isfinite(track.gimbal_pitch_deg[1:]).all()


def test_dataflash_samples(samples_dir: Path) -> None:
    path = samples_dir / "mavlink" / "pymavlink_test.BIN"
    pos = load_dataflash(path, types=["POS"]).messages["POS"]
    track = read_track(path)
    assert track.report.format == "dataflash" and len(track) == len(pos) == 23
    np.testing.assert_array_equal(track.lat_deg, pos["Lat"])
    np.testing.assert_array_equal(track.alt_m, pos["Alt"].astype(np.float64))
    assert track.report.counts["truncated_tail_bytes"] == 24  # the file is cut mid-record
    assert 1_509_241_629 < track.t_us[0] / 1e6 < 1_509_241_631  # 2017-10-29, from GPS time
    with pytest.raises(InvalidInput, match="no POS or GPS record with a position"):
        read_track(samples_dir / "mavlink" / "ardusub_small.BIN")  # a sub: no GPS


def test_a_cut_sample_still_reads(samples_dir: Path) -> None:
    data = (samples_dir / "mavlink" / "ardusub_small.tlog").read_bytes()
    track = read_track(io.BytesIO(data[: len(data) // 2 + 3]), name="half.tlog")
    assert 300 < len(track) < 500 and track.report.counts["truncated_tail_bytes"] > 0
    assert track.report.problems[-1].where.startswith("half.tlog byte ")
