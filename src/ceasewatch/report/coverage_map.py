"""The coverage map: a PNG of the theater with each segment coloured by how stale it is.

Drawn with matplotlib's Agg renderer on a `Figure` of its own (never pyplot, whose
global state and backend choice would leak between calls), under matplotlib's default
style whatever the user's matplotlibrc says, and saved without the "Software" text chunk,
so that the same coverage gives the same PNG bytes with the same matplotlib version.

What is drawn, bottom to top: the control areas (filled, one colour per side), the zone
boundaries (thin) and the contact line (thick), their segments coloured by their class
at the end of the period (`staleness_classes`), the drone tracks over them (thinned to
at most `MAX_TRACK_POINTS` points each), the drone bases, a legend and a title with the
period and the share of the line observed in the last `window_h` hours.
Axes are longitude and latitude, with the aspect of the theater's mid latitude.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import matplotlib as mpl
import matplotlib.style
import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.analysis.sortie import geometry_at
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray
from ceasewatch.geo.theater import Theater, TheaterState
from ceasewatch.ingest.track import Track
from ceasewatch.records.types import posix_us

__all__ = [
    "CLASS_COLOURS",
    "CLASS_LABELS",
    "LINE_WIDTH_PT",
    "MAX_TRACK_POINTS",
    "NEVER_SEEN",
    "ZONE_WIDTH_PT",
    "CoverageMap",
    "coverage_map",
    "staleness_classes",
]

#: Segment classes at the end of the period, by time since last seen.
FRESH, AGEING, STALE, NEVER_SEEN = 0, 1, 2, 3
CLASS_COLOURS = ("#1a9641", "#a6d96a", "#fdae61", "#d7191c")
CLASS_LABELS = (
    "seen within {half:g} h",
    "seen {half:g}-{window:g} h ago",
    "seen more than {window:g} h ago",
    "never seen in the period",
)
#: Widths (points) of the contact line's segments and of the zones' (thinner).
LINE_WIDTH_PT, ZONE_WIDTH_PT = 3.5, 1.5
#: A drone track is drawn with at most this many points.
MAX_TRACK_POINTS = 2000
_SIDE_COLOURS = ("#dce9f5", "#f7e1d3", "#e5f0da", "#ece0f0", "#f5f0d0")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CoverageMap:
    """A rendered map and where its axes lie, to find a place's pixel.

    Attributes:
        png: the PNG file's bytes.
        width_px, height_px: the image size.
        xlim, ylim: the longitudes and latitudes at the axes' edges.
        axes_px: the axes' box in pixels (left, top, right, bottom; rows from the top).
    """

    png: bytes
    width_px: int
    height_px: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    axes_px: tuple[float, float, float, float]

    def pixel(self, lon: float, lat: float) -> tuple[int, int]:
        """The (column, row) of a point's pixel, rows from the top."""
        left, top, right, bottom = self.axes_px
        fx = (lon - self.xlim[0]) / (self.xlim[1] - self.xlim[0])
        fy = (lat - self.ylim[0]) / (self.ylim[1] - self.ylim[0])
        return math.floor(left + fx * (right - left)), math.floor(bottom - fy * (bottom - top))


def staleness_classes(cov: Coverage, end: datetime, window_h: float) -> npt.NDArray[np.intp]:
    """Each segment's class at `end`: FRESH (seen within window_h / 2 hours), AGEING
    (within window_h), STALE (earlier) or NEVER_SEEN (no visit before `end`)."""
    t1 = (end - _EPOCH).total_seconds()
    age_h = (t1 - cov.last_seen_s(t1)) / 3600.0
    out = np.full(len(cov.segments), NEVER_SEEN, dtype=np.intp)
    seen = ~np.isnan(age_h)
    out[seen & (age_h > window_h)] = STALE
    out[seen & (age_h <= window_h)] = AGEING
    out[seen & (age_h <= window_h / 2.0)] = FRESH
    return out


def _rings_path(geom: BaseGeometry) -> Path | None:
    """A compound path of a (multi)polygon, holes included (non-zero winding)."""
    verts: list[tuple[float, float]] = []
    codes: list[np.uint8] = []
    for poly in getattr(geom, "geoms", [geom]):
        if not isinstance(poly, Polygon) or poly.is_empty:
            continue
        p = orient(poly, 1.0)
        for ring in [p.exterior, *p.interiors]:
            xy = list(ring.coords)
            verts += [(float(x), float(y)) for x, y in xy]
            codes += [Path.MOVETO] + [Path.LINETO] * (len(xy) - 2) + [Path.CLOSEPOLY]
    return Path(verts, codes) if verts else None


def _lines(geom: BaseGeometry) -> list[FloatArray]:
    """The boundary lines of polygons, or the lines themselves, as (n, 2) lon/lat."""
    out: list[FloatArray] = []
    for g in getattr(geom, "geoms", [geom]):
        if g.is_empty:
            continue
        if isinstance(g, Polygon):
            out += [np.asarray(r.coords, dtype=np.float64) for r in [g.exterior, *g.interiors]]
        elif g.geom_type in ("LineString", "LinearRing"):
            out.append(np.asarray(g.coords, dtype=np.float64))
        else:
            out += _lines(g)
    return out


def _thin(track: Track, t0_us: int, t1_us: int) -> FloatArray:
    keep = np.flatnonzero(
        (track.t_us >= t0_us)
        & (track.t_us < t1_us)
        & np.isfinite(track.lon_deg)
        & np.isfinite(track.lat_deg)
    )
    if len(keep) > MAX_TRACK_POINTS:
        step = math.ceil(len(keep) / MAX_TRACK_POINTS)
        keep = np.r_[keep[::step], keep[-1]]
    return np.column_stack([track.lon_deg[keep], track.lat_deg[keep]])


def _label(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def coverage_map(
    theater: Theater,
    cov: Coverage,
    start: datetime,
    end: datetime,
    *,
    window_h: float,
    tracks: Sequence[Track] = (),
    state: TheaterState | None = None,
    size_px: tuple[int, int] = (1600, 1200),
    dpi: int = 100,
) -> CoverageMap:
    """Render the coverage of [start, end) as a PNG map.

    Args:
        theater: the theater (plane, name).
        cov: its coverage (e.g. `analysis.sortie.coverage_of`; times in POSIX seconds).
        start, end: the period shown; segments are classed at `end`.
        window_h: "observed in the last N hours" (the classes' and the title's N).
        tracks: drone tracks to draw (their samples within the period, thinned).
        state: the geometry to draw (default: the one in force at the period's end,
            as `coverage_of` reports on).
        size_px: (width, height) of the image.
        dpi: dots per inch (text and line widths scale with it).
    """
    if not window_h > 0.0:
        raise InvalidInput(f"window_h must be positive, not {window_h}")
    w, h = size_px
    if w < 200 or h < 200:
        raise InvalidInput(f"a map needs at least 200 x 200 pixels, not {w} x {h}")
    state = geometry_at(theater, start, end) if state is None else state
    sg = cov.segments
    lon, lat = theater.frame.to_wgs84(sg.vx, sg.vy)
    seg_lines = [
        np.column_stack([lon[a:b], lat[a:b]])
        for a, b in zip(sg.offsets[:-1].tolist(), sg.offsets[1:].tolist(), strict=True)
    ]
    classes = staleness_classes(cov, end, window_h)
    t1 = (end - _EPOCH).total_seconds()
    share = float(cov.share_observed(t1, window_h)[0]) if "line" in sg.groups else 0.0
    with mpl.style.context("default"):
        fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.06, 0.06, 0.9, 0.86))
        handles: list[Patch | Line2D] = []
        for i, side in enumerate(sorted(state.areas)):
            path = _rings_path(state.areas[side])
            if path is None:
                continue
            colour = _SIDE_COLOURS[i % len(_SIDE_COLOURS)]
            ax.add_patch(PathPatch(path, facecolor=colour, edgecolor="#9a9a9a", lw=0.5, zorder=1))
            name = theater.orgs[side].name if side in theater.orgs else side
            handles.append(Patch(facecolor=colour, edgecolor="#9a9a9a", label=name))
        # Zones without segments of their own (coverage computed without them): dashed.
        bare = [z for z in state.zones if f"zone:{z.id}" not in sg.groups]
        zone_lines = [ln for z in bare for ln in _lines(z.geometry)]
        if zone_lines:
            ax.add_collection(
                LineCollection(
                    zone_lines, colors="#555555", linewidths=0.8, linestyles="--", zorder=2
                )
            )
            handles.append(Line2D([], [], color="#555555", lw=0.8, ls="--", label="zone boundary"))
        # Zone segments under the line's: where a zone's edge runs along the line, the
        # line's class shows.
        is_line = sg.group == (sg.groups.index("line") if "line" in sg.groups else -1)
        colours = np.array(CLASS_COLOURS)[classes]
        for sel, width, z in ((~is_line, ZONE_WIDTH_PT, 3), (is_line, LINE_WIDTH_PT, 4)):
            rows = np.flatnonzero(sel).tolist()
            if rows:
                ax.add_collection(
                    LineCollection(
                        [seg_lines[i] for i in rows],
                        colors=colours[rows].tolist(),
                        linewidths=width,
                        capstyle="butt",
                        zorder=z,
                    )
                )
        handles.append(Line2D([], [], color="#777777", lw=LINE_WIDTH_PT, label="contact line"))
        if (~is_line).any():
            handles.append(Line2D([], [], color="#777777", lw=ZONE_WIDTH_PT, label="zone boundary"))
        t0_us, t1_us = posix_us(start), posix_us(end)
        drawn = [p for p in (_thin(tr, t0_us, t1_us) for tr in tracks) if len(p) >= 2]
        if drawn:
            ax.add_collection(LineCollection(drawn, colors="#1f3f8f", linewidths=0.7, zorder=5))
            handles.append(Line2D([], [], color="#1f3f8f", lw=0.7, label="drone track"))
        half = window_h / 2.0
        for k, colour in enumerate(CLASS_COLOURS):
            label = CLASS_LABELS[k].format(half=half, window=window_h)
            handles.append(Line2D([], [], color=colour, lw=LINE_WIDTH_PT, label=label))
        if state.bases:
            ax.plot(
                [b.lon for b in state.bases],
                [b.lat for b in state.bases],
                ls="none",
                marker="^",
                color="black",
                ms=6,
                zorder=6,
            )
            handles.append(
                Line2D([], [], ls="none", marker="^", color="black", ms=6, label="drone base")
            )
        x0, x1, y0, y1 = _extent(state, seg_lines)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect(1.0 / math.cos(math.radians((y0 + y1) / 2.0)), adjustable="box")
        ax.set_xlabel("longitude (degrees)")
        ax.set_ylabel("latitude (degrees)")
        ax.legend(handles=handles, loc="upper left", fontsize="small", framealpha=0.9)
        ax.set_title(
            f"{theater.name}: coverage {_label(start)} to {_label(end)} UTC\n"
            f"contact line observed in the last {window_h:g} h at {_label(end)}: "
            f"{100.0 * share:.1f}%",
            fontsize="medium",
        )
        fig.canvas.draw()
        box = ax.get_window_extent()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    xl, yl = ax.get_xlim(), ax.get_ylim()
    return CoverageMap(
        png=buf.getvalue(),
        width_px=w,
        height_px=h,
        xlim=(float(xl[0]), float(xl[1])),
        ylim=(float(yl[0]), float(yl[1])),
        axes_px=(float(box.x0), float(h - box.y1), float(box.x1), float(h - box.y0)),
    )


def _extent(
    state: TheaterState, seg_lines: Sequence[FloatArray]
) -> tuple[float, float, float, float]:
    """The areas' and segments' bounds, padded by 3% (a degree around nothing)."""
    xs: list[float] = []
    ys: list[float] = []
    for geom in state.areas.values():
        bx0, by0, bx1, by1 = geom.bounds
        xs += [bx0, bx1]
        ys += [by0, by1]
    for ln in seg_lines:
        if len(ln):
            xs += [float(ln[:, 0].min()), float(ln[:, 0].max())]
            ys += [float(ln[:, 1].min()), float(ln[:, 1].max())]
    if not xs:
        return -1.0, 1.0, -1.0, 1.0
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    px = max((x1 - x0) * 0.03, 1e-3)
    py = max((y1 - y0) * 0.03, 1e-3)
    return x0 - px, x1 + px, y0 - py, y1 + py
