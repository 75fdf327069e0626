"""Sightings as columns: what analysis reads of each one, without a record per row.

A million `Sighting` models cost seconds to build and as long again to read back one
attribute at a time; analysis needs a dozen plain values of each. `SightingTable` holds
them as columns (Python lists, in no particular order: analysis sorts). It is built from
records (`SightingTable.of`) or straight from a CSV file's checked columns
(`read_sighting_table`), with the same values either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from ceasewatch.geo.bearings import BearingRef
from ceasewatch.records.kinds import Sense, Sighting, SightingKind
from ceasewatch.records.types import posix_us

__all__ = ["EPOCH", "SightingTable", "utc_from_us"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KIND_VALUE = {k: k.value for k in SightingKind}


def utc_from_us(us: int) -> datetime:
    """The UTC time `us` microseconds after 1970 (the inverse of `posix_us`)."""
    return EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class SightingTable:
    """The sightings' values analysis uses, a column each (row i: sighting i).

    Attributes:
        t_us: the time, exact microseconds since 1970 UTC.
        sigma_deg: `Sighting.sigma_deg` (the given sigma, the compass sector's, or None).
        kind: the kind's value ("shot", ...); heard: sense is "heard".
    """

    id: list[str]
    t_us: list[int]
    org: list[str]
    observer: list[str]
    lat: list[float]
    lon: list[float]
    bearing_deg: list[float]
    bearing_ref: list[BearingRef]
    sigma_deg: list[float | None]
    range_min_m: list[float | None]
    range_max_m: list[float | None]
    kind: list[str]
    count: list[int]
    heard: list[bool]

    def __len__(self) -> int:
        return len(self.id)

    def time(self, i: int) -> datetime:
        """Row i's time (UTC)."""
        return utc_from_us(self.t_us[i])

    @classmethod
    def of(cls, sightings: Iterable[Sighting]) -> SightingTable:
        """The table of these records, in their order."""
        rows = list(sightings)
        return cls(
            id=[s.id for s in rows],
            t_us=[posix_us(s.time) for s in rows],
            org=[s.org for s in rows],
            observer=[s.observer for s in rows],
            lat=[s.lat for s in rows],
            lon=[s.lon for s in rows],
            bearing_deg=[s.bearing_deg for s in rows],
            bearing_ref=[s.bearing_ref for s in rows],
            sigma_deg=[s.sigma_deg for s in rows],
            range_min_m=[s.range_min_m for s in rows],
            range_max_m=[s.range_max_m for s in rows],
            kind=[_KIND_VALUE[s.kind] for s in rows],
            count=[s.count for s in rows],
            heard=[s.sense is Sense.HEARD for s in rows],
        )

    def take(self, idx: Sequence[int]) -> SightingTable:
        """The rows idx, in that order."""
        cols = {f.name: getattr(self, f.name) for f in fields(self)}
        return SightingTable(**{k: [v[i] for i in idx] for k, v in cols.items()})

    @classmethod
    def join(cls, parts: Sequence[SightingTable]) -> SightingTable:
        """The rows of every part, in order."""
        parts = [p for p in parts if len(p)] or list(parts[:1])
        if len(parts) == 1:
            return parts[0]
        cols: dict[str, list[object]] = {f.name: [] for f in fields(cls)}
        for part in parts:
            for name, values in cols.items():
                values.extend(getattr(part, name))
        return cls(**cols)  # type: ignore[arg-type]
