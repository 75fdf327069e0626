"""Why the 95% ellipses cover what they cover: a breakdown on simulated scenarios.

For every event of sightings, the truth (`sighting_truth`, the posts' profiles) tells its
occurrence, each inlier's bearing error and whether it is gross (more than 15 degrees
off: the simulator's gross errors are 20-90 degrees, its noise at most 4 degrees sigma).
Events are split by their inliers (1, 2, >= 3) and by what they hold:
- clean: one occurrence, no gross inlier;
- gross: a gross bearing among the inliers;
- merged: sightings of several occurrences.
Per class: count, coverage of the 95% ellipse, and mean Mahalanobis² / 2 (1 when the
covariance is right). For singles and pairs also the mean squared normalised error along
and across the first inlier's bearing (1 when that axis' variance is right), with the
across-axis split into the bearing's own sigma (stated or default) vs its true sigma.
Each run's estimated gross share (outliers over members of groups of 4 or more) is
printed too.

    .venv/bin/python benchmarks/accuracy_coverage.py [--seeds 5] [--hours 24]
        [--configs 1.5:0.04,4:0.04,1.5:0,1.5:0.08]
"""

from __future__ import annotations

import argparse
import math
from collections import Counter, defaultdict
from typing import Any

from ceasewatch.analysis import analyse
from ceasewatch.analysis.observations import normalise
from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import Theater, load_theater
from ceasewatch.sim import default_window, simulate

CHI2_2D_95 = 5.991464547107979
GROSS_DEG = 15.0


class Cell:
    def __init__(self) -> None:
        self.n = 0
        self.cov = 0
        self.m2 = 0.0
        self.along = 0.0
        self.across = 0.0
        self.n_axes = 0

    def add(self, m2: float, axes: tuple[float, float] | None) -> None:
        self.n += 1
        self.cov += m2 <= CHI2_2D_95
        self.m2 += min(m2, 100.0)  # one gross miss should not swamp the mean
        if axes is not None:
            self.along += min(axes[0], 100.0)
            self.across += min(axes[1], 100.0)
            self.n_axes += 1

    def text(self) -> str:
        if not self.n:
            return f"{0:>5}"
        s = f"{self.n:>5} {self.cov / self.n:6.3f} {self.m2 / self.n / 2:6.2f}"
        if self.n_axes:
            s += f" al={self.along / self.n_axes:5.2f} ac={self.across / self.n_axes:5.2f}"
        return s


def run(
    theater: Theater,
    seed: int,
    *,
    hours: float,
    rate: float,
    gross: float,
    cells: dict[tuple[str, str], Cell],
    extra: dict[str, list[Any]],
) -> float:
    """Adds one scenario's events to `cells` and `extra`; returns its estimated share."""
    start, _ = default_window(theater)
    sc = simulate(theater, seed, start, hours, fire_rate_per_h=rate, gross_error_rate=gross)
    ol = sc.observations
    result = analyse(theater, ol.sightings, ol.detections, ol.craters, ol.allegations)
    link = ol.sighting_truth
    occ = {o.id: o for o in sc.truth.occurrences}
    obs, _ = normalise(ol.sightings, theater)
    by_id = {o.id: o for o in obs}
    raw = {s.id: s for s in ol.sightings}
    true_sigma = {p.post: math.radians(p.sigma_deg) for p in sc.profiles}
    pos: dict[str, tuple[float, float]] = {}
    for oc in occ.values():
        lx, ly = theater.frame.to_local(oc.lon, oc.lat)
        pos[oc.id] = (float(lx[0]), float(ly[0]))
    n_big = bad_big = 0
    n_all = out_all = g1 = g2 = n1 = n2 = 0
    for e in result.events:
        if not e.sightings:
            continue
        if len(e.sightings) >= 4:
            n_big += len(e.sightings)
            bad_big += len(e.outliers)
        n_all += len(e.sightings)
        out_all += len(e.outliers)
        votes = Counter(link[i] for i in e.sightings)
        oid = min(votes, key=lambda k: (-votes[k], k))
        tx, ty = pos[oid]
        ex, ey = tx - e.x_m, ty - e.y_m
        (cee, cen), (_, cnn) = e.cov_m2
        det = cee * cnn - cen * cen
        m2 = (cnn * ex * ex - 2 * cen * ex * ey + cee * ey * ey) / det if det > 0 else math.inf
        inl = [by_id[i] for i in e.sightings if i not in e.outliers]
        size = "1" if len(inl) == 1 else ("2" if len(inl) == 2 else ">=3")
        errs = []
        for o in inl:
            ox, oy = pos[link[o.id]]
            tb = math.atan2(ox - o.x_m, oy - o.y_m)
            errs.append(abs((o.theta - tb + math.pi) % (2 * math.pi) - math.pi))
        has_gross = any(v > math.radians(GROSS_DEG) for v in errs)
        what = "merged" if len(votes) > 1 else ("gross" if has_gross else "clean")
        axes = None
        if len(inl) <= 2 and det > 0:
            o = inl[0]
            s, c = math.sin(o.theta), math.cos(o.theta)
            # along (s, c), across (c, -s): the covariance and the error in those axes
            v_al = s * s * cee + 2 * s * c * cen + c * c * cnn
            v_ac = c * c * cee - 2 * s * c * cen + s * s * cnn
            e_al, e_ac = s * ex + c * ey, c * ex - s * ey
            axes = (e_al * e_al / v_al, e_ac * e_ac / v_ac)
        cells[(size, what)].add(m2, axes)
        n_gross = sum(v > math.radians(GROSS_DEG) for v in errs)
        if len(inl) == 1:
            n1, g1 = n1 + 1, g1 + n_gross
        elif len(inl) == 2:
            n2, g2 = n2 + 2, g2 + n_gross
        cells[(size, "all")].add(m2, axes)
        if len(inl) == 1 and what == "clean":
            o = inl[0]
            r = raw[o.id]
            sig_kind = (
                "compass" if r.bearing_compass else ("stated" if r.bearing_sigma_deg else "default")
            )
            band = "band" if o.rmax_m is not None else "noband"
            cells[("1", f"clean {sig_kind}")].add(m2, axes)
            cells[("1", f"clean {band}")].add(m2, axes)
            ts = true_sigma[o.observer]
            extra["sig_ratio"].append((o.sigma / ts) if sig_kind != "compass" else math.nan)
            d = math.hypot(pos[link[o.id]][0] - o.x_m, pos[link[o.id]][1] - o.y_m)
            if o.rmax_m is not None:
                lo = o.rmin_m or 0.0
                mid = 0.5 * (lo + o.rmax_m)
                sr = math.hypot((o.rmax_m - lo) / math.sqrt(12.0), 0.3 * mid)
                extra["band_z2"].append(((d - mid) / sr) ** 2)
    share = (bad_big / n_big) if n_big else math.nan
    extra["budget"].append((share * n_all - out_all, g1, g2, n1, n2))
    return share


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--configs", default="1.5:0.04,4:0.04,1.5:0,1.5:0.08")
    args = ap.parse_args()
    theater = load_theater(demo_theater_dir())
    for conf in args.configs.split(","):
        rate, gross = (float(v) for v in conf.split(":"))
        cells: defaultdict[tuple[str, str], Cell] = defaultdict(Cell)
        extra: defaultdict[str, list[Any]] = defaultdict(list)
        shares = [
            run(theater, seed, hours=args.hours, rate=rate, gross=gross, cells=cells, extra=extra)
            for seed in range(1, args.seeds + 1)
        ]
        print(f"== episodes/h {rate} gross {gross}: share in groups >= 4 per seed "
              + " ".join(f"{v:.3f}" for v in shares))  # fmt: skip
        print(f"{'inliers':>7} {'class':>16} {'n':>5} {'cover':>6} {'m2/2':>6}")
        for key in sorted(cells, key=lambda k: (k[0], k[1] != "all", k[1])):
            print(f"{key[0]:>7} {key[1]:>16} {cells[key].text()}")
        for b in extra["budget"]:
            print(
                f"  share*N - outliers {b[0]:6.1f}; gross in singles {b[1]}/{b[3]}, "
                f"in pairs {b[2]}/{b[4]} (members)"
            )
        band = extra["band_z2"]
        ratio = [v for v in extra["sig_ratio"] if not math.isnan(v)]
        if band:
            print(f"  clean singles: band z² mean {sum(band) / len(band):.2f} (n={len(band)}), "
                  f"sigma used / true mean {sum(ratio) / max(len(ratio), 1):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
