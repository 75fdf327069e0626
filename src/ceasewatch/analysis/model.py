"""What analysis produces: events (fused occurrences), violations, allegation findings.

Frozen dataclasses; positions in WGS84 and, for the fix, in the theater's local plane
(metres east, north). Everything here is plain data: no database, no clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AllegationFinding",
    "Event",
    "Violation",
    "event_of",
    "replace_event",
    "violation_of",
    "violation_values",
]


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


# Building records fast. Analysis makes an event per occurrence and a violation per
# breach, a million for a large input; a frozen dataclass's __init__ (and `replace`) pay
# an object.__setattr__ per field. A plain frozen dataclass (no slots, no __post_init__)
# keeps its fields in the instance's __dict__ and derives nothing from them, so setting
# that dict gives the same object; should one gain slots or a __post_init__, the helpers
# below fall back to the constructor.


def _plain(cls: type) -> bool:
    return "__slots__" not in vars(cls) and not hasattr(cls, "__post_init__")


_EVENT_PLAIN, _VIOLATION_PLAIN = _plain(Event), _plain(Violation)
#: Violation's fields, in order.
VIOLATION_FIELDS = tuple(f.name for f in dataclasses.fields(Violation))


def event_of(values: dict[str, Any]) -> Event:
    """`Event(**values)`, every field given, in `Event`'s order (`values` becomes the
    instance's dict: don't reuse it)."""
    if not _EVENT_PLAIN:
        return Event(**values)
    new = object.__new__(Event)
    object.__setattr__(new, "__dict__", values)
    return new


def replace_event(e: Event, **changes: Any) -> Event:
    """`dataclasses.replace(e, **changes)`."""
    if not _EVENT_PLAIN:
        return dataclasses.replace(e, **changes)
    values = e.__dict__.copy()
    values.update(changes)
    return event_of(values)


def violation_of(values: tuple[Any, ...]) -> Violation:
    """`Violation(*values)`."""
    if not _VIOLATION_PLAIN or len(values) != len(VIOLATION_FIELDS):
        return Violation(*values)
    new = _new(Violation)
    _set(new, "__dict__", dict(zip(VIOLATION_FIELDS, values)))  # noqa: B905 (same length)
    return new


_new, _set = object.__new__, object.__setattr__


def violation_values(v: Violation) -> tuple[Any, ...]:
    """The fields of v, in order (what `violation_of` takes)."""
    return tuple(getattr(v, name) for name in VIOLATION_FIELDS)
