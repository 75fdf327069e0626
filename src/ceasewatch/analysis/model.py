"""What analysis produces: events (fused occurrences), violations, allegation findings.

Frozen dataclasses; positions in WGS84 and, for the fix, in the theater's local plane
(metres east, north). Everything here is plain data: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["AllegationFinding", "Event", "Violation", "event_of"]


@dataclass(frozen=True)
class Event:
    """One physical occurrence fused from sightings (or a firing position from craters).

    Attributes:
        id: derived from the ids of its evidence: stable across runs and input orders.
        time: estimated time of the occurrence (UTC).
        kind: explosion, shot, burst, flare, movement, ... or firing_position.
        x_m, y_m: estimated position in the local plane; lon, lat: the same in WGS84.
        cov_m2: 2x2 covariance of (x, y) in m², ((ee, en), (ne, nn)).
        crlb_m: RMS of the Cramér-Rao bound for this geometry (sqrt of its trace).
        sightings: ids of the sightings fused into it; outliers: those left out of the fix.
        craters: ids of craters used (firing positions).
        p_side: {side: probability that the occurrence lies in that side's area}.
        d_line_m: distance to the contact line in force at `time`.
    """

    id: str
    time: datetime
    kind: str
    count: int
    x_m: float
    y_m: float
    lon: float
    lat: float
    cov_m2: tuple[tuple[float, float], tuple[float, float]]
    crlb_m: float
    sightings: tuple[str, ...] = ()
    outliers: tuple[str, ...] = ()
    craters: tuple[str, ...] = ()
    p_side: dict[str, float] = field(default_factory=dict)
    d_line_m: float | None = None
    observers: tuple[str, ...] = ()


_PLAIN = "__slots__" not in vars(Event) and not hasattr(Event, "__post_init__")
"""`Event` keeps its fields in the instance's ``__dict__`` and derives nothing from them."""


def event_of(values: dict[str, Any]) -> Event:
    """`Event(**values)` (every field given, in `Event`'s order), without the per-field
    cost of a frozen dataclass's __init__: the values become the instance's ``__dict__``
    as __init__ would leave it (it falls back to __init__ should `Event` gain slots or a
    __post_init__). Analysis builds an event per occurrence, a million for a large input.
    """
    if not _PLAIN:
        return Event(**values)
    new = object.__new__(Event)
    object.__setattr__(new, "__dict__", values)
    return new


@dataclass(frozen=True)
class Violation:
    """An event or condition that breaches a rule, attributed to a side with a probability."""

    id: str
    rule: str
    kind: str
    side: str | None
    p: float
    severity: str
    time: datetime
    lon: float
    lat: float
    description: str
    event_ids: tuple[str, ...] = ()
    detection_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllegationFinding:
    """What the observations say about one allegation."""

    allegation: str
    status: str  # supported | not_supported | no_coverage
    event_ids: tuple[str, ...] = ()
    violation_ids: tuple[str, ...] = ()
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
