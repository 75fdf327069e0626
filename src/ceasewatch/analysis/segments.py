"""Segments: the contact line and zone boundaries cut into short pieces, in the local
plane, each with an id, a group and its midpoint (`segments`, `theater_segments`).

`analysis.coverage` tests the midpoints against camera footprints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import FloatArray, LocalFrame
from ceasewatch.geo.theater import TheaterState

__all__ = [
    "BoolArray",
    "IntArray",
    "Segments",
    "segments",
    "theater_segments",
]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Segments:
    """Pieces of lines, each with an id, a group and its midpoint, in the local plane.

    Attributes:
        ids: "<group>:<part>:<index>", e.g. "line:0:0042": the 43rd piece of the first
            line of group "line". Stable for a given geometry and length.
        group: index into `groups` of each segment.
        groups: the group names ("line", "zone:corridor-1", ...).
        part: index of the line (of its group) a segment was cut from.
        start_m: where the segment begins along its line (metres).
        length_m: its length (metres); a line of length L is cut into ceil(L / length)
            equal pieces, so none is longer than asked.
        mid_x, mid_y: the point halfway along the segment.
        offsets: (M + 1,) the segment k's vertices are vx, vy[offsets[k]:offsets[k + 1]].
        vx, vy: the vertices of every segment, in order.
    """

    ids: tuple[str, ...]
    group: IntArray
    groups: tuple[str, ...]
    part: IntArray
    start_m: FloatArray
    length_m: FloatArray
    mid_x: FloatArray
    mid_y: FloatArray
    offsets: IntArray
    vx: FloatArray
    vy: FloatArray

    def __len__(self) -> int:
        return len(self.ids)

    def geometry(self, k: int) -> LineString:
        """Segment k as a shapely LineString."""
        a, b = int(self.offsets[k]), int(self.offsets[k + 1])
        return LineString(np.column_stack([self.vx[a:b], self.vy[a:b]]))

    def in_group(self, group: str | None) -> BoolArray:
        """Which segments belong to `group` (all for None)."""
        if group is None:
            return np.ones(len(self), dtype=bool)
        if group not in self.groups:
            raise InvalidInput(f"no segment group {group!r}; there are {list(self.groups)}")
        out: BoolArray = self.group == self.groups.index(group)
        return out

    @staticmethod
    def concat(parts: Sequence[Segments]) -> Segments:
        """Several `Segments` as one (groups merged by name, in order of appearance)."""
        groups: list[str] = []
        for p in parts:
            groups += [g for g in p.groups if g not in groups]
        shift = np.cumsum([0, *(len(p.vx) for p in parts[:-1])])
        return Segments(
            ids=tuple(i for p in parts for i in p.ids),
            group=np.concatenate(
                [np.array([groups.index(g) for g in p.groups], np.intp)[p.group] for p in parts]
                or [np.zeros(0, np.intp)]
            ),
            groups=tuple(groups),
            part=_cati([p.part for p in parts]),
            start_m=_catf([p.start_m for p in parts]),
            length_m=_catf([p.length_m for p in parts]),
            mid_x=_catf([p.mid_x for p in parts]),
            mid_y=_catf([p.mid_y for p in parts]),
            offsets=np.concatenate(
                [[0], *((p.offsets[1:] + s) for p, s in zip(parts, shift, strict=True))]
            ).astype(np.intp),
            vx=_catf([p.vx for p in parts]),
            vy=_catf([p.vy for p in parts]),
        )


def _catf(arrays: Sequence[FloatArray]) -> FloatArray:
    return np.concatenate([np.zeros(0), *arrays]).astype(np.float64)


def _cati(arrays: Sequence[IntArray]) -> IntArray:
    return np.concatenate([np.zeros(0, np.intp), *arrays]).astype(np.intp)


def segments(geometry: BaseGeometry, length_m: float, *, group: str = "line") -> Segments:
    """Cut lines into segments of at most `length_m` metres.

    Args:
        geometry: in the local plane (metres): a (Multi)LineString, or polygons, whose
            boundaries are cut; anything else in a collection is left out.
        length_m: the longest a segment may be. Each line is cut into equal pieces.
        group: the name the segments' ids begin with.
    """
    if not length_m > 0.0:
        raise InvalidInput(f"segment length_m must be positive, not {length_m}")
    lines: list[FloatArray] = []
    for r in _linear(geometry):
        xy = shapely.get_coordinates(r)
        xy = xy[np.r_[True, (np.diff(xy, axis=0) != 0).any(axis=1)]]
        if len(xy) >= 2:
            lines.append(xy)
    out = [_cut(xy, length_m, group, i) for i, xy in enumerate(lines)]
    if not out:
        e = np.zeros(0)
        z = np.zeros(0, np.intp)
        return Segments((), z, (group,), z, e, e, e, e, np.zeros(1, np.intp), e, e)
    return Segments.concat(out)


def _linear(geom: BaseGeometry) -> list[BaseGeometry]:
    """The lines in a geometry, polygons' rings included, collections opened."""
    out: list[BaseGeometry] = []
    for g in shapely.get_parts(geom):
        if g.geom_type == "Polygon":
            out.extend(shapely.get_rings(g))
        elif g.geom_type in ("LineString", "LinearRing"):
            out.append(g)
        elif g.geom_type in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
            out.extend(_linear(g))
    return out


def _cut(xy: FloatArray, length_m: float, group: str, part: int) -> Segments:
    """One polyline cut into ceil(L / length_m) equal pieces."""
    dxy = xy[1:] - xy[:-1]
    d = np.sqrt(dxy[:, 0] * dxy[:, 0] + dxy[:, 1] * dxy[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(d)])
    total = float(cum[-1])
    n = max(1, math.ceil(total / length_m * (1.0 - 1e-12)))
    br = np.arange(n + 1, dtype=np.float64) * np.float64(total / n)
    br[-1] = total

    def at(s: FloatArray) -> tuple[FloatArray, FloatArray]:
        i = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(d) - 1)
        f = np.where(d[i] > 0.0, (s - cum[i]) / np.where(d[i] > 0.0, d[i], 1.0), 0.0)
        return xy[i, 0] + f * (xy[i + 1, 0] - xy[i, 0]), xy[i, 1] + f * (xy[i + 1, 1] - xy[i, 1])

    bx, by = at(br)
    bx[0], by[0] = xy[0]
    bx[-1], by[-1] = xy[-1]
    mx, my = at((br[:-1] + br[1:]) / 2.0)
    # Every segment: its first breakpoint, the line's vertices strictly inside it, its last.
    inner = np.flatnonzero((cum > 0.0) & (cum < total))
    k_in = np.searchsorted(br, cum[inner], side="right") - 1
    on_break = cum[inner] == br[k_in]
    inner, k_in = inner[~on_break], k_in[~on_break]
    seg = np.concatenate([np.arange(n), k_in, np.arange(n)])
    kind = np.concatenate([np.zeros(n), np.ones(len(inner)), np.full(n, 2.0)])
    dist = np.concatenate([br[:-1], cum[inner], br[1:]])
    px = np.concatenate([bx[:-1], xy[inner, 0], bx[1:]])
    py = np.concatenate([by[:-1], xy[inner, 1], by[1:]])
    order = np.lexsort((dist, kind, seg))
    counts = np.bincount(seg, minlength=n)
    return Segments(
        ids=tuple(f"{group}:{part}:{i:04d}" for i in range(n)),
        group=np.zeros(n, np.intp),
        groups=(group,),
        part=np.full(n, part, np.intp),
        start_m=br[:-1].copy(),
        length_m=br[1:] - br[:-1],
        mid_x=mx,
        mid_y=my,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.intp),
        vx=px[order],
        vy=py[order],
    )


def theater_segments(
    state: TheaterState, frame: LocalFrame, length_m: float, *, zones: bool = True
) -> Segments:
    """The contact line (group "line") and, with `zones`, each zone's boundary (group
    "zone:<id>") in force in `state`, cut into segments of at most `length_m`."""
    parts = [segments(frame.to_local_geometry(state.contact_line), length_m, group="line")]
    if zones:
        for z in sorted(state.zones, key=lambda z: z.id):
            geom = frame.to_local_geometry(z.geometry)
            parts.append(segments(geom, length_m, group=f"zone:{z.id}"))
    return Segments.concat(parts)
