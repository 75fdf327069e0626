"""The coverage map: the same PNG bytes every time, the size asked for, and segments in
the colour of their class."""

from __future__ import annotations

import io
import struct
from datetime import timedelta

import matplotlib.colors
import matplotlib.image
import numpy as np
import pytest

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.sortie import coverage_of
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.report.coverage_map import (
    CLASS_COLOURS,
    NEVER_SEEN,
    CoverageMap,
    coverage_map,
    staleness_classes,
)
from tests.analysis.test_sortie import T0, line_track

END = T0 + timedelta(hours=4)
SIZE = (900, 700)
WINDOW_H = 10.0  # the flight, 4 h before END, is "seen within 5 h"


@pytest.fixture(scope="module")
def drawn(demo_theater: Theater) -> tuple[Coverage, CoverageMap]:
    cam = demo_theater.cameras["eo-30"]
    tr = line_track(demo_theater, start_km=20.0, length_km=20.0)
    cov = coverage_of(demo_theater, [("s1", cam, tr)], segment_m=1000.0, start=T0, end=END)
    return cov, coverage_map(
        demo_theater, cov, T0, END, window_h=WINDOW_H, tracks=[tr], size_px=SIZE
    )


def test_the_png_is_the_same_bytes_every_time(
    demo_theater: Theater, drawn: tuple[Coverage, CoverageMap]
) -> None:
    cov, first = drawn
    again = coverage_map(
        demo_theater,
        cov,
        T0,
        END,
        window_h=WINDOW_H,
        tracks=[line_track(demo_theater, start_km=20.0, length_km=20.0)],
        size_px=SIZE,
    )
    assert again.png == first.png
    assert b"Software" not in first.png and b"matplotlib" not in first.png


def test_the_png_has_the_size_asked_for(drawn: tuple[Coverage, CoverageMap]) -> None:
    png = drawn[1].png
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == SIZE
    assert matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2] == SIZE[::-1]


def _colours_near(m: CoverageMap, lon: float, lat: float, r: int = 2) -> set[tuple[int, ...]]:
    img = (matplotlib.image.imread(io.BytesIO(m.png), format="png") * 255.0).round()
    col, row = m.pixel(lon, lat)
    block = img[row - r : row + r + 1, col - r : col + r + 1, :3].reshape(-1, 3)
    return {tuple(int(v) for v in px) for px in block}


def _rgb(colour: str) -> tuple[int, ...]:
    return tuple(round(255 * v) for v in matplotlib.colors.to_rgb(colour))


def test_segments_are_drawn_in_the_colour_of_their_class(
    demo_theater: Theater, drawn: tuple[Coverage, CoverageMap]
) -> None:
    cov, m = drawn
    sg = cov.segments
    classes = staleness_classes(cov, END, WINDOW_H)
    line = sg.in_group("line")
    lon, lat = demo_theater.frame.to_wgs84(sg.mid_x, sg.mid_y)
    mid_km = (sg.start_m + sg.length_m / 2.0) / 1000.0
    never = np.flatnonzero(line & (mid_km > 60.0) & (mid_km < 70.0))
    seen = np.flatnonzero(line & (mid_km > 25.0) & (mid_km < 35.0))
    assert (classes[never] == NEVER_SEEN).all() and (classes[seen] == 0).all()
    for k in never.tolist():
        assert _rgb(CLASS_COLOURS[NEVER_SEEN]) in _colours_near(m, lon[k], lat[k]), sg.ids[k]
    for k in seen.tolist():
        near = _colours_near(m, lon[k], lat[k])
        assert _rgb(CLASS_COLOURS[0]) in near, sg.ids[k]


def test_classes_follow_the_time_since_last_seen(drawn: tuple[Coverage, CoverageMap]) -> None:
    cov = drawn[0]
    line = cov.segments.in_group("line")
    # The flight lasts 11 minutes after T0: at T0 + 4 h it is 4 h old.
    assert set(staleness_classes(cov, END, 10.0)[line].tolist()) == {0, NEVER_SEEN}
    assert set(staleness_classes(cov, END, 6.0)[line].tolist()) == {1, NEVER_SEEN}
    assert set(staleness_classes(cov, END, 3.0)[line].tolist()) == {2, NEVER_SEEN}


def test_bad_map_arguments_are_refused(
    demo_theater: Theater, drawn: tuple[Coverage, CoverageMap]
) -> None:
    cov = drawn[0]
    with pytest.raises(InvalidInput, match="window_h"):
        coverage_map(demo_theater, cov, T0, END, window_h=0.0)
    with pytest.raises(InvalidInput, match="200 x 200"):
        coverage_map(demo_theater, cov, T0, END, window_h=6.0, size_px=(100, 100))
