"""The coverage report as a library call: settings, the drones' cameras, clear errors."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.report.coverage import (
    COVERAGE_FILES,
    build_coverage_report,
    camera_of,
    write_coverage_report,
)
from tests.analysis.test_sortie import T0, line_track


def test_a_drone_flies_its_own_camera_unless_told(demo_theater: Theater) -> None:
    assert camera_of(demo_theater, "uav-a1").id == "eo-30"
    with pytest.raises(InvalidInput) as exc:
        camera_of(demo_theater, "uav-zz")
    assert "uav-a1, uav-a2, uav-b1, uav-b2" in exc.value.diagnostics()
    with pytest.raises(InvalidInput, match="unknown camera 'ir-9'"):
        camera_of(demo_theater, "uav-a1", "ir-9")


def test_the_report_uses_the_settings_given_and_writes_three_files(
    demo_theater: Theater, tmp_path: Path
) -> None:
    cam = camera_of(demo_theater, "uav-a1")
    tracks = [("a", cam, line_track(demo_theater, length_km=2.0))]
    end = T0 + timedelta(hours=2)
    report = build_coverage_report(
        demo_theater, tracks, T0, end, segment_m=2000.0, window_h=1.5, size_px=(400, 300)
    )
    assert report.settings.segment_m == 2000.0 and report.settings.window_h == 1.5
    assert report.settings.ground_elev_m == 0.0 and report.changes == ()
    assert report.summary["window_h"] == 1.5
    assert report.summary["inputs"]["tracks"] == [
        {"id": "a", "camera": "eo-30", "samples": len(tracks[0][2])}
    ]
    paths = write_coverage_report(report, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == sorted(COVERAGE_FILES)
    assert json.loads(paths["coverage.geojson"].read_text(encoding="utf-8"))["features"]


def test_no_telemetry_in_the_period_lists_the_tracks_spans(demo_theater: Theater) -> None:
    cam = camera_of(demo_theater, "uav-a1")
    tracks = [("a", cam, line_track(demo_theater, length_km=1.0))]
    later = T0 + timedelta(days=1)
    with pytest.raises(InvalidInput, match="no telemetry in the period") as exc:
        build_coverage_report(demo_theater, tracks, later, later + timedelta(hours=1))
    assert "a: spans 2026-11-26T02:00:00Z to 2026-11-26T02:00:33Z" in exc.value.diagnostics()
    with pytest.raises(InvalidInput, match="swap them"):
        build_coverage_report(demo_theater, tracks, later, T0)
    with pytest.raises(InvalidInput, match="--segment-m"):
        build_coverage_report(demo_theater, tracks, T0, later, segment_m=-1.0)


def test_a_period_across_the_handover_measures_each_hour_on_its_own_line(
    demo_theater: Theater,
) -> None:
    cam = camera_of(demo_theater, "uav-a1")
    start, end = T0 + timedelta(hours=8), T0 + timedelta(hours=12)  # 10:00 to 14:00
    tracks = [
        ("a", cam, line_track(demo_theater, start + timedelta(minutes=30), length_km=3.0)),
        ("b", cam, line_track(demo_theater, start + timedelta(hours=3), length_km=3.0)),
    ]
    report = build_coverage_report(
        demo_theater, tracks, start, end, segment_m=1000.0, window_h=1.0, size_px=(400, 300)
    )
    handover = demo_theater.change_times[1]
    assert report.changes == (handover,)
    assert report.summary["inputs"]["geometry_changes"] == ["2026-11-26T12:00:00Z"]
    hourly = report.summary["hourly"]
    assert [h["time"][11:16] for h in hourly] == ["11:00", "12:00", "13:00", "14:00"]
    old, new = hourly[0]["line_length_m"], hourly[2]["line_length_m"]
    assert hourly[1]["line_length_m"] == old and hourly[3]["line_length_m"] == new
    assert old == pytest.approx(138_930.6, abs=1.0) and new > old
    assert hourly[0]["line_observed_share"] > 0.0 and hourly[1]["line_observed_share"] == 0.0
    # The segments are those of the line after the handover.
    assert report.summary["line"]["length_m"] == new
