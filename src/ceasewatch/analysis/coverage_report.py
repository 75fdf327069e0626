"""Coverage as files: a GeoJSON of the segments and a JSON summary (a contract: users,
the map and the planner read them).

coverage.geojson, one LineString (lon/lat, WGS84) per segment, in segment order, with:

    id             "line:0:0042", "zone:corridor-1:0:0003" (see `analysis.segments`)
    group          "line" or "zone:<zone id>"
    length_m       the segment's length
    observed_s     time within [from, to] inside an observing footprint
    visits         visits overlapping [from, to]
    first_seen, last_seen   UTC times within [from, to] (null: not seen)
    longest_gap_s  the longest stretch of [from, to] without a visit
    revisit_s      mean gap between consecutive visits, end to start (null: < 2 visits)
    stale_s        at `to`, seconds since the segment was last seen (null: never)

coverage_summary.json: the period, the line's and each group's length and shares, the
share of the line (in force at the time) observed in the `window_h` hours before the end
of each hour of the period, and the longest stretches of the line never observed in the period.

Numbers are rounded to what they mean (degrees 1e-6, metres and seconds 0.1, shares
1e-4, times to the millisecond, fixed width), keys sorted: the same coverage gives the
same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ceasewatch.analysis.coverage import Coverage
from ceasewatch.errors import InvalidInput
from ceasewatch.geo.geodesy import LocalFrame

__all__ = [
    "Stretch",
    "coverage_geojson",
    "coverage_summary",
    "segment_properties",
    "summary_json",
    "unobserved_stretches",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Stretch:
    """Consecutive segments of one line part, none of them observed in a window."""

    group: str
    part: int
    first_id: str
    last_id: str
    segments: int
    from_m: float
    to_m: float
    length_m: float


def _r(x: float, nd: int) -> float:
    v = round(x, nd)
    return 0.0 if v == 0 else v  # no "-0.0"


def _opt(x: float, nd: int) -> float | None:
    return None if math.isnan(x) else _r(x, nd)


def _seconds(t: datetime) -> float:
    if t.tzinfo is None:
        raise InvalidInput("coverage reports need timezone-aware times")
    return (t - _EPOCH).total_seconds()


def _time(t_s: float) -> str | None:
    """POSIX seconds as UTC to the millisecond, fixed width (None for NaN)."""
    if math.isnan(t_s):
        return None
    t = _EPOCH + timedelta(milliseconds=round(t_s * 1000.0))
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _period(start: datetime, end: datetime) -> tuple[float, float]:
    t0, t1 = _seconds(start), _seconds(end)
    if not t0 < t1:
        raise InvalidInput(f"the period [{start.isoformat()}, {end.isoformat()}) is empty")
    return t0, t1


def segment_properties(cov: Coverage, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The properties of each segment over [start, end] (see the module docstring)."""
    t0, t1 = _period(start, end)
    st = cov.stats(t0, t1)
    last = cov.last_seen_s(t1)
    sg = cov.segments
    out = []
    for k in range(len(sg)):
        n = int(st.visits[k])
        first, seen, obs = float(st.first_seen_s[k]), float(st.last_seen_s[k]), st.observed_s[k]
        revisit = (seen - first - float(obs)) / (n - 1) if n >= 2 else math.nan
        out.append(
            {
                "id": sg.ids[k],
                "group": sg.groups[int(sg.group[k])],
                "length_m": _r(float(sg.length_m[k]), 1),
                "observed_s": _r(float(obs), 1),
                "visits": n,
                "first_seen": _time(first),
                "last_seen": _time(seen),
                "longest_gap_s": _r(float(st.longest_gap_s[k]), 1),
                "revisit_s": _opt(revisit, 1),
                "stale_s": _opt(t1 - float(last[k]), 1),
            }
        )
    return out


def coverage_geojson(cov: Coverage, frame: LocalFrame, start: datetime, end: datetime) -> str:
    """coverage.geojson's text: one LineString Feature per segment, in segment order."""
    props = segment_properties(cov, start, end)
    sg = cov.segments
    lon, lat = frame.to_wgs84(sg.vx, sg.vy)
    lines = []
    for k, p in enumerate(props):
        a, b = int(sg.offsets[k]), int(sg.offsets[k + 1])
        coords = [
            [_r(float(x), 6), _r(float(y), 6)] for x, y in zip(lon[a:b], lat[a:b], strict=True)
        ]
        feature = {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": p,
        }
        lines.append(json.dumps(feature, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def unobserved_stretches(
    cov: Coverage, start: datetime, end: datetime, *, group: str = "line"
) -> list[Stretch]:
    """Runs of consecutive segments of `group` not observed in [start, end], longest
    first (ties: in segment order)."""
    t0, t1 = _period(start, end)
    sg = cov.segments
    sel = np.flatnonzero(sg.in_group(group) & ~cov.seen_between(t0, t1))
    runs: list[list[int]] = []
    for k in sel.tolist():
        if runs and runs[-1][-1] == k - 1 and sg.part[k] == sg.part[k - 1]:
            runs[-1].append(k)
        else:
            runs.append([k])
    out = []
    for run in runs:
        a, b = run[0], run[-1]
        out.append(
            Stretch(
                group=group,
                part=int(sg.part[a]),
                first_id=sg.ids[a],
                last_id=sg.ids[b],
                segments=len(run),
                from_m=float(sg.start_m[a]),
                to_m=float(sg.start_m[b] + sg.length_m[b]),
                length_m=math.fsum(sg.length_m[run].tolist()),
            )
        )
    out.sort(key=lambda s: -s.length_m)
    return out


def _group_summary(cov: Coverage, group: str, t0: float, t1: float, window_h: float) -> Any:
    sg = cov.segments
    sel = sg.in_group(group)
    length = sg.length_m[sel]
    total = math.fsum(length.tolist())
    seen = cov.seen_between(t0, t1)[sel]
    recent = cov.seen_between(t1 - window_h * 3600.0, t1)[sel]

    def share(mask: Any) -> float:
        return _r(math.fsum(length[mask].tolist()) / total, 4) if total > 0.0 else 0.0

    return {
        "segments": int(sel.sum()),
        "length_m": _r(total, 1),
        "observed_share": share(seen),
        "observed_share_window": share(recent),
        "never_seen_segments": int((~seen).sum()),
        "never_seen_length_m": _r(math.fsum(length[~seen].tolist()), 1),
    }


def coverage_summary(
    cov: Coverage,
    start: datetime,
    end: datetime,
    *,
    window_h: float,
    stretches: int = 10,
    inputs: Mapping[str, Any] | None = None,
    before: Sequence[tuple[datetime, Coverage]] = (),
) -> dict[str, Any]:
    """coverage_summary.json's content.

    Args:
        cov: the coverage (times in POSIX seconds).
        start, end: the period reported.
        window_h: "observed in the last N hours": the hourly shares look this far back.
        stretches: how many of the longest unobserved stretches of the line to list.
        inputs: what the coverage was made from (tracks, samples), written as given.
        before: for a period across geometry changes, (change time, the same samples'
            coverage on the geometry in force just before it), in time order: the hourly
            share at a time t at or before a change time is measured on the line in
            force then (that of the first change time >= t), not on `cov`'s.

    Returns:
        {"period", "window_h", "line", "groups", "hourly", "longest_unobserved",
        "inputs"}: "line" and each of "groups" have segments, length_m, observed_share
        (seen in the period), observed_share_window (seen in the window_h hours before
        `to`), never_seen_segments and never_seen_length_m; "hourly" has, at the end of
        each hour of the period (the last one at `to`), the share of the line in force
        then observed in the window_h hours before it, and that line's length.
    """
    t0, t1 = _period(start, end)
    if not window_h > 0.0:
        raise InvalidInput(f"window_h must be positive, not {window_h}")
    hours = math.ceil((t1 - t0) / 3600.0 - 1e-9)
    ends = [min(t0 + 3600.0 * (k + 1), t1) for k in range(hours)]
    has_line = "line" in cov.segments.groups
    hourly = []
    for t in ends:
        on = next((c for when, c in before if t <= _seconds(when)), cov)
        share = 0.0
        length = 0.0
        if "line" in on.segments.groups:
            share = float(on.share_observed(t, window_h, group="line")[0])
            length = math.fsum(on.segments.length_m[on.segments.in_group("line")].tolist())
        hourly.append(
            {"time": _time(t), "line_observed_share": _r(share, 4), "line_length_m": _r(length, 1)}
        )
    groups = {g: _group_summary(cov, g, t0, t1, window_h) for g in cov.segments.groups}
    return {
        "period": {"from": _time(t0), "to": _time(t1), "hours": _r((t1 - t0) / 3600.0, 4)},
        "window_h": _r(window_h, 4),
        "line": groups.get("line"),
        "groups": {g: v for g, v in sorted(groups.items()) if g != "line"},
        "hourly": hourly,
        "longest_unobserved": [
            {
                "first_id": s.first_id,
                "last_id": s.last_id,
                "segments": s.segments,
                "from_m": _r(s.from_m, 1),
                "to_m": _r(s.to_m, 1),
                "length_m": _r(s.length_m, 1),
            }
            for s in (unobserved_stretches(cov, start, end) if has_line else [])[:stretches]
        ],
        "inputs": dict(inputs or {}),
    }


def summary_json(summary: Mapping[str, Any]) -> str:
    """The summary as coverage_summary.json's text (sorted keys, one space indent)."""
    return json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
