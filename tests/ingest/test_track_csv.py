"""The plain CSV track: values, every kind of bad row, cut-off files, hostile text."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.errors import InvalidInput
from ceasewatch.ingest.track import GIMBAL_BODY, GIMBAL_EARTH, GIMBAL_HORIZON, Track, read_track

HEADER = "time,lat_deg,lon_deg,alt_msl_m,yaw_deg,gimbal_pitch_deg,gimbal_frame,hfov_deg,x_note\n"
ROWS = [
    "2026-11-26T10:00:00Z,40.0,46.5,612.5,271,-45,horizon,62,first\n",
    "2026-11-26T12:00:00.5+02:00,40.001,46.501,613,272.5,,,,\n",  # 10:00:00.5 UTC
    "2026-11-26T10:00:01Z,40.002,46.502,614,,-90,EARTH,,\n",
]


def read(text: str | bytes, name: str = "t.csv") -> Track:
    data = text.encode() if isinstance(text, str) else text
    return read_track(io.BytesIO(data), name=name)


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        read(text)
    return [str(p) for p in exc.value.problems]


def test_values_units_and_frames(tmp_path: Path) -> None:
    path = tmp_path / "flight.csv"
    path.write_text("\ufeff" + HEADER + "".join(ROWS), encoding="utf-8")
    track = read_track(path)
    assert track.report.format == "csv" and track.report.source == str(path)
    t0 = 1_795_687_200_000_000  # 2026-11-26T10:00:00Z
    assert track.t_us.tolist() == [t0, t0 + 500_000, t0 + 1_000_000]
    assert track.lat_deg.tolist() == [40.0, 40.001, 40.002]
    assert track.alt_m.tolist() == [612.5, 613.0, 614.0]
    assert track.yaw_deg[:2].tolist() == [271.0, 272.5] and np.isnan(track.yaw_deg[2])
    assert np.isnan(track.pitch_deg).all() and np.isnan(track.gimbal_roll_deg).all()
    assert track.gimbal_frame.tolist() == [GIMBAL_HORIZON, GIMBAL_BODY, GIMBAL_EARTH]
    assert np.isnan(track.gimbal_pitch_deg[1]) and track.gimbal_pitch_deg[2] == -90.0
    assert track.hfov_deg[0] == 62.0 and np.isnan(track.vfov_deg).all()
    assert track.report.counts == {} and track.corners_lat_deg is None


def test_bad_rows_refuse_the_file_saying_where_and_what() -> None:
    rows = [
        "2026-11-26T10:00:00,40,46.5,612,,,,,\n",  # no offset
        "2026-11-26T10:00:01Z,91,46.5,612,,,,,\n",
        "2026-11-26T10:00:02Z,40,46.5,,,,,,\n",
        "2026-11-26T10:00:03Z,40,46.5,612,,-30,,,\n",  # gimbal angle without a frame
        "2026-11-26T10:00:04Z,40,46.5,612,,,sideways,200,\n",
        "2026-11-26T10:00:05Z,40,46.5,nan,,,,,\n",
        "2026-11-26T10:00:06Z,40,46.5\n",
    ]
    got = problems(HEADER + "".join(rows))
    assert got[0].startswith("t.csv:2 time: ") and "no UTC offset" in got[0]
    assert got[1] == "t.csv:3 lat_deg: 91 is not a latitude in [-90, 90]"
    assert got[2].startswith("t.csv:4 alt_msl_m: is empty")
    assert got[3].startswith("t.csv:5 gimbal_frame: is empty on a row with gimbal angles")
    assert got[4] == "t.csv:6 gimbal_frame: 'sideways': write body, horizon or earth"
    assert got[5] == "t.csv:6 hfov_deg: 200 is outside (0, 180)"
    assert got[6] == "t.csv:7 alt_msl_m: 'nan' is not a finite number"
    assert got[7].startswith("t.csv:8: 3 fields, but the header has 9")


def test_header_problems() -> None:
    got = problems("time,lat_deg,lon,alt_msl_m,lat_deg,\n")
    assert any("unknown column 'lon'" in p and p.startswith("t.csv:1 lon") for p in got)
    assert any("'lat_deg' appears more than once" in p for p in got)
    assert any("column 6 has no name" in p for p in got)
    assert any("missing required column 'lon_deg'" in p for p in got)
    with pytest.raises(InvalidInput, match="no usable sample: the file has a header but no"):
        read(HEADER)


def test_a_cut_off_last_row_is_dropped_and_counted() -> None:
    text = HEADER + "".join(ROWS)
    for cut in range(len(HEADER) + len(ROWS[0]) + 1, len(text) - 1):
        part = text[:cut]
        if part.endswith("\n"):
            continue
        try:
            track = read(part)
        except InvalidInput as exc:  # a cut that leaves a valid but different row is fine
            pytest.fail(f"cut at {cut}: {exc.diagnostics()}")
        kept = part.count("\n") - 1
        assert len(track) in (kept, kept + 1)
        assert len(track) == kept + 1 or track.report.counts["truncated_rows"] == 1


def test_time_going_backwards_is_dropped_and_counted() -> None:
    track = read(HEADER + ROWS[2] + ROWS[0] + ROWS[2].replace(":01Z", ":02Z"))
    assert len(track) == 2 and track.report.counts == {"time_backwards": 1}


def test_not_utf8_and_not_csv() -> None:
    with pytest.raises(InvalidInput, match="not UTF-8") as exc:
        read((HEADER + ROWS[0]).encode() + b"2026-11-26T10:00:02Z,4\xff,46,1,,,,,\n")
    assert exc.value.problems[0].where == "t.csv:3"
    with pytest.raises(InvalidInput, match=r"not a telemetry file .* CSV track"):
        read("a,b,c\n1,2,3\n")
    with pytest.raises(InvalidInput, match="the CSV track header is wrong") as exc:
        read("id,time,org\n1,2,3\n")  # a sightings file, say
    assert "unknown column 'id'" in exc.value.diagnostics()
    with pytest.raises(InvalidInput, match="not valid CSV"):
        read(HEADER + '2026-11-26T10:00:00Z,"40"x,46.5,1,,,,,\n')


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300))
def test_hostile_text_gives_a_track_or_a_clear_error(junk: str) -> None:
    try:
        track = read(HEADER + ROWS[0] + junk)
    except InvalidInput as exc:
        assert exc.problems or "no usable sample" in str(exc)
        return
    assert len(track) >= 1 and np.all(np.diff(track.t_us) > 0)
