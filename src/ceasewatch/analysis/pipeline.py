"""`analyse`: records in, events, violations and allegation findings out. Pure.

The one entry point of analysis. It sorts its inputs first (by time, then id), so the
result is the same for any order of the records, and derives every id from content.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ceasewatch._gc import paused_gc
from ceasewatch.analysis.allegations import Observed, match_allegations
from ceasewatch.analysis.associate import associate
from ceasewatch.analysis.attribution import SideGeometry
from ceasewatch.analysis.craters import crater_groups, crater_obs
from ceasewatch.analysis.events import events_from_craters, events_from_sightings
from ceasewatch.analysis.model import AllegationFinding, Event, Violation, replace_event
from ceasewatch.analysis.observations import normalise_table
from ceasewatch.analysis.rules import Rule, load_rules
from ceasewatch.analysis.violations import apply_rules, best_side
from ceasewatch.errors import Problem
from ceasewatch.geo.theater import Theater
from ceasewatch.records import Allegation, Crater, Detection, Sighting
from ceasewatch.records.table import SightingTable

__all__ = ["Analysis", "analyse", "analyse_table", "attribute"]


@dataclass
class Analysis:
    """Everything one run of the analysis found, and what it could not use."""

    events: list[Event]
    violations: list[Violation]
    findings: list[AllegationFinding]
    skipped: list[Problem] = field(default_factory=list)
    inputs: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Counts by kind, side and rule; inputs read; skipped rows with reasons."""

        def counts(values: Sequence[str | None]) -> dict[str, int]:
            return dict(sorted(Counter(v or "unknown" for v in values).items()))

        return {
            "inputs": dict(sorted(self.inputs.items())),
            "events": {
                "total": len(self.events),
                "by_kind": counts([e.kind for e in self.events]),
                "by_side": counts([best_side(e.p_side)[0] for e in self.events]),
            },
            "violations": {
                "total": len(self.violations),
                "by_rule": counts([v.rule for v in self.violations]),
                "by_side": counts([v.side for v in self.violations]),
            },
            "allegations": counts([f.status for f in self.findings]),
            "skipped": [{"where": p.where, "reason": p.what} for p in self.skipped],
        }


def attribute(events: Sequence[Event], theater: Theater, *, workers: int = 1) -> list[Event]:
    """Fill in p_side and d_line_m from the geometry in force at each event's time.

    `workers` > 1 computes the uncertain events' p_side on that many forked processes
    (in the batches `SideGeometry` computes alone: byte-identical results).
    """
    out: list[Event] = list(events)
    by_period: dict[int, list[int]] = {}
    for i, e in enumerate(events):
        by_period.setdefault(bisect.bisect_right(theater.change_times, e.time), []).append(i)
    for _, idx in sorted(by_period.items()):
        geom = SideGeometry(theater.at(events[idx[0]].time), theater.frame)
        some = [events[i] for i in idx]
        x = np.fromiter([e.x_m for e in some], dtype=np.float64, count=len(some))
        y = np.fromiter([e.y_m for e in some], dtype=np.float64, count=len(some))
        cov = np.fromiter(
            itertools.chain.from_iterable(itertools.chain.from_iterable(e.cov_m2 for e in some)),
            dtype=np.float64,
            count=4 * len(some),
        ).reshape(-1, 2, 2)
        found = geom.attribute(x, y, cov, processes=workers)
        assert found.p_side is not None
        lines = [v if v - v == 0.0 else None for v in found.d_line_m.tolist()]  # inf, NaN: None
        sides = geom.sides
        for i, e, row, d_line in zip(idx, some, found.p_side.tolist(), lines, strict=True):
            p_side = {side: q for side, q in zip(sides, row, strict=True) if q > 0.0}
            out[i] = replace_event(e, p_side=p_side, d_line_m=d_line)
    return out


def analyse(
    theater: Theater,
    sightings: Sequence[Sighting],
    detections: Sequence[Detection] = (),
    craters: Sequence[Crater] = (),
    allegations: Sequence[Allegation] = (),
    *,
    rules: Sequence[Rule] | None = None,
    observed: Observed | None = None,
    workers: int = 1,
) -> Analysis:
    """Locate, attribute and judge: the whole analysis over one set of records.

    Args:
        rules: the rules to check (default: the theater's rules.toml, or the shipped ones).
        observed: optional hook (x_m, y_m, time) -> whether that place was watched then,
            e.g. drone coverage: an allegation nothing supports is `not_supported` where it
            says so, rather than `no_coverage`.
        workers: forked processes for the parts that split into independent chunks (1:
            none); the result is the same for any number.
    """
    return analyse_table(
        theater, SightingTable.of(sightings), detections, craters, allegations,
        rules=rules, observed=observed, workers=workers,
    )  # fmt: skip


def analyse_table(
    theater: Theater,
    sightings: SightingTable,
    detections: Sequence[Detection] = (),
    craters: Sequence[Crater] = (),
    allegations: Sequence[Allegation] = (),
    *,
    rules: Sequence[Rule] | None = None,
    observed: Observed | None = None,
    workers: int = 1,
) -> Analysis:
    """`analyse`, the sightings given as a table (as `read_sighting_table` reads them)."""
    with paused_gc():
        return _analyse(
            theater, sightings, detections, craters, allegations, rules=rules,
            observed=observed, workers=workers,
        )  # fmt: skip


def _analyse(
    theater: Theater,
    sightings: SightingTable,
    detections: Sequence[Detection],
    craters: Sequence[Crater],
    allegations: Sequence[Allegation],
    *,
    rules: Sequence[Rule] | None,
    observed: Observed | None,
    workers: int,
) -> Analysis:
    if rules is None:
        rules = load_rules(theater.root)
    obs, skipped = normalise_table(sightings, theater)
    assoc = associate(obs, workers=workers)
    events = events_from_sightings(obs, assoc, theater, workers=workers)
    c_obs = crater_obs(craters, theater)
    fp_events, impacts = events_from_craters(c_obs, crater_groups(c_obs, craters), theater)
    events = sorted([*events, *fp_events], key=lambda e: (e.time, e.id))
    events = attribute(events, theater, workers=workers)
    dets = sorted(detections, key=lambda d: (d.time, d.id))
    violations = apply_rules(rules, theater, events, dets, impacts=impacts, workers=workers)
    findings = match_allegations(
        sorted(allegations, key=lambda a: (a.time, a.id)),
        events,
        violations,
        theater,
        observed=observed,
    )
    inputs = {
        "sightings": len(sightings),
        "detections": len(detections),
        "craters": len(craters),
        "allegations": len(allegations),
    }
    return Analysis(events, violations, findings, skipped, inputs)
