"""coverage.geojson and coverage_summary.json: the right numbers, the same bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from shapely.geometry import LineString

from ceasewatch.analysis.coverage import Coverage, segments
from ceasewatch.analysis.coverage_report import (
    coverage_geojson,
    coverage_summary,
    summary_json,
    unobserved_stretches,
)
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray
from tests.analysis.common import FRAME

START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
END = START + timedelta(hours=3)
X0, Y0 = 500_000.0, 4_400_000.0
#: 2 km along x in the demo plane, twenty 100 m segments (midpoints at 50, 150, ...).
SEGS = segments(LineString([(X0, Y0), (X0 + 2000.0, Y0)]), 100.0)


def squares(cx: float, n: int, half: float = 260.0) -> FloatArray:
    sx = np.array([-1.0, 1.0, 1.0, -1.0]) * half
    sy = np.array([1.0, 1.0, -1.0, -1.0]) * half
    one = np.stack([X0 + cx + sx, Y0 + sy], axis=1)
    return np.repeat(one[None], n, axis=0)


def coverage() -> Coverage:
    """Segments 0-4 (x 0..500 m) seen for 1 s at +600 s and again at +3600 s; segment 19
    seen for 2 s at +9000 s; the others never."""
    t0 = START.timestamp()
    a = t0 + 600.0 + np.arange(11) / 10.0
    b = t0 + 3600.0 + np.arange(11) / 10.0
    c = t0 + 9000.0 + np.arange(21) / 10.0
    corners = np.concatenate([squares(250.0, 11), squares(250.0, 11), squares(1950.0, 21, 40.0)])
    return Coverage.compute(SEGS, corners, np.concatenate([a, b, c]))


def features() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(coverage_geojson(coverage(), FRAME, START, END))[
        "features"
    ]
    return out


def test_each_segment_is_a_lonlat_line_with_its_numbers() -> None:
    fs = features()
    assert [f["properties"]["id"] for f in fs] == list(SEGS.ids)
    seen = fs[2]["properties"]
    assert seen == {
        "id": "line:0:0002",
        "group": "line",
        "length_m": 100.0,
        "observed_s": 2.0,
        "visits": 2,
        "first_seen": "2026-11-26T00:10:00.000Z",
        "last_seen": "2026-11-26T01:00:01.000Z",
        "longest_gap_s": 7199.0,  # from the last visit to the end of the period
        "revisit_s": 2999.0,
        "stale_s": 7199.0,
    }
    never = fs[10]["properties"]
    assert never["visits"] == 0 and never["observed_s"] == 0.0
    for key in ("first_seen", "last_seen", "revisit_s", "stale_s"):
        assert never[key] is None
    assert never["longest_gap_s"] == 10800.0
    assert fs[19]["properties"]["stale_s"] == pytest.approx(10800.0 - 9002.0)
    geom = fs[0]["geometry"]
    assert geom["type"] == "LineString"
    lon, lat = FRAME.to_wgs84(np.array([X0, X0 + 100.0]), np.array([Y0, Y0]))
    expect = [[round(float(x), 6), round(float(y), 6)] for x, y in zip(lon, lat, strict=True)]
    assert geom["coordinates"] == expect
    assert 44.0 < expect[0][0] < 46.0 and 39.0 < expect[0][1] < 41.0


def test_the_files_are_the_same_bytes_every_time() -> None:
    a = coverage_geojson(coverage(), FRAME, START, END)
    assert a == coverage_geojson(coverage(), FRAME, START, END)
    assert a.startswith('{"type":"FeatureCollection","features":[\n{"geometry":')
    s = summary_json(coverage_summary(coverage(), START, END, window_h=1.0))
    assert s == summary_json(coverage_summary(coverage(), START, END, window_h=1.0))
    assert s.endswith("}\n")


def test_the_summary_has_hourly_shares_and_the_longest_gaps() -> None:
    s = coverage_summary(coverage(), START, END, window_h=1.0, inputs={"tracks": ["s1"]})
    assert s["period"] == {
        "from": "2026-11-26T00:00:00.000Z",
        "to": "2026-11-26T03:00:00.000Z",
        "hours": 3.0,
    }
    # 01:00: segments 0-4 seen within the hour (500 of 2000 m); 02:00: the visit at
    # 01:00:00-01:00:01 is still within [01:00, 02:00]; 03:00: only segment 19.
    assert s["hourly"] == [
        {"time": "2026-11-26T01:00:00.000Z", "line_observed_share": 0.25, "line_length_m": 2000.0},
        {"time": "2026-11-26T02:00:00.000Z", "line_observed_share": 0.25, "line_length_m": 2000.0},
        {"time": "2026-11-26T03:00:00.000Z", "line_observed_share": 0.05, "line_length_m": 2000.0},
    ]
    line = s["line"]
    assert line == {
        "segments": 20,
        "length_m": 2000.0,
        "observed_share": 0.3,
        "observed_share_window": 0.05,
        "never_seen_segments": 14,
        "never_seen_length_m": 1400.0,
    }
    assert s["groups"] == {}
    assert s["longest_unobserved"] == [
        {
            "first_id": "line:0:0005",
            "last_id": "line:0:0018",
            "segments": 14,
            "from_m": 500.0,
            "to_m": 1900.0,
            "length_m": 1400.0,
        }
    ]
    assert s["inputs"] == {"tracks": ["s1"]}


def test_a_period_not_in_whole_hours_ends_its_last_hour_at_to() -> None:
    s = coverage_summary(coverage(), START, START + timedelta(minutes=90), window_h=6.0)
    assert [h["time"] for h in s["hourly"]] == [
        "2026-11-26T01:00:00.000Z",
        "2026-11-26T01:30:00.000Z",
    ]


def test_unobserved_stretches_are_cut_where_a_segment_was_seen() -> None:
    t0 = START.timestamp()
    corners = squares(1050.0, 1, 40.0)  # segment 10 only
    cov = Coverage.compute(SEGS, corners, np.array([t0 + 5.0]))
    runs = unobserved_stretches(cov, START, END)
    assert [(r.first_id, r.last_id, r.length_m) for r in runs] == [
        ("line:0:0011", "line:0:0019", 900.0),
        ("line:0:0000", "line:0:0009", 1000.0),
    ][::-1]


def test_an_empty_period_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        coverage_geojson(coverage(), FRAME, END, START)
    with pytest.raises(InvalidInput, match="window_h"):
        coverage_summary(coverage(), START, END, window_h=0.0)


def test_hourly_shares_before_a_change_are_on_the_line_in_force_then() -> None:
    """With `before`, hours up to a change time use the coverage of the old line."""
    old_segs = segments(LineString([(X0, Y0), (X0 + 500.0, Y0)]), 100.0)  # segments 0-4
    t0 = START.timestamp()
    old = Coverage.compute(old_segs, squares(250.0, 1), np.array([t0 + 600.0]))
    change = START + timedelta(hours=2)
    s = coverage_summary(coverage(), START, END, window_h=1.0, before=[(change, old)])
    assert s["hourly"] == [
        {"time": "2026-11-26T01:00:00.000Z", "line_observed_share": 1.0, "line_length_m": 500.0},
        {"time": "2026-11-26T02:00:00.000Z", "line_observed_share": 0.0, "line_length_m": 500.0},
        {"time": "2026-11-26T03:00:00.000Z", "line_observed_share": 0.05, "line_length_m": 2000.0},
    ]
