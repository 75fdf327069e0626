"""The record kinds observers and analysts contribute (see DESIGN.md's words).

Each model holds what was reported, as reported (a magnetic bearing stays magnetic, a
compass point stays a compass point); conversions to true bearings and local metres
happen in analysis, so the record keeps the observer's own words.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ceasewatch.geo.bearings import COMPASS_SIGMA_DEG, BearingRef, compass_to_deg
from ceasewatch.records.base import Record, check_org_known
from ceasewatch.records.types import Bearing, Lat, Lon, OrgId, PositiveM, RecordId, UtcDatetime

__all__ = [
    "Allegation",
    "Assessment",
    "Crater",
    "Detection",
    "DetectionClass",
    "Sense",
    "Sighting",
    "SightingKind",
    "Sortie",
    "Verdict",
]

Text = Annotated[str, Field(max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=128)]
Sigma = Annotated[float, Field(gt=0.0, le=180.0, allow_inf_nan=False)]


class SightingKind(StrEnum):
    """What an observer saw or heard."""

    EXPLOSION = "explosion"
    BURST = "burst"
    SHOT = "shot"
    FLARE = "flare"
    PROJECTILE = "projectile"
    MOVEMENT = "movement"
    AIRCRAFT = "aircraft"
    DRONE = "drone"
    OTHER = "other"


class Sense(StrEnum):
    """How the observer perceived it: heard events arrive late by the speed of sound."""

    SEEN = "seen"
    HEARD = "heard"
    BOTH = "both"


class DetectionClass(StrEnum):
    """What a detection placed on the ground."""

    TANK = "tank"
    ARTILLERY = "artillery"
    MLRS = "mlrs"
    MORTAR = "mortar"
    APC = "apc"
    TRUCK = "truck"
    PERSONNEL = "personnel"
    FORTIFICATION = "fortification"
    AIRCRAFT = "aircraft"
    DRONE = "drone"
    OTHER = "other"


class Verdict(StrEnum):
    """A monitor org's judgement of an incident."""

    CONFIRM = "confirm"
    DISPUTE = "dispute"
    NEED_INFO = "need_info"


class Sighting(Record):
    """What an observer at a known position saw or heard, with a bearing to it.

    `bearing_deg` is measured from `bearing_ref` north. When the observer gave a 16-point
    compass direction, `bearing_compass` keeps it and `bearing_deg` is its centre; a
    compass point given as `bearing_deg` (as the CSV contract allows) is read that way.
    """

    record_type = "sighting"

    id: RecordId
    time: UtcDatetime
    org: OrgId
    observer: Name
    lat: Lat
    lon: Lon
    bearing_deg: Bearing
    bearing_compass: str | None = None
    bearing_sigma_deg: Sigma | None = None
    bearing_ref: BearingRef = BearingRef.TRUE
    range_min_m: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    range_max_m: PositiveM | None = None
    kind: SightingKind
    count: Annotated[int, Field(ge=1, le=100_000)] = 1
    sense: Sense | None = None

    @field_validator("org")
    @classmethod
    def _org_known(cls, value: str, info: ValidationInfo) -> str:
        return check_org_known(value, info)

    @model_validator(mode="before")
    @classmethod
    def _compass_as_bearing(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("bearing_deg"), str):
            centre = compass_to_deg(data["bearing_deg"])
            if centre is not None:
                compass = data.get("bearing_compass") or data["bearing_deg"]
                data = {**data, "bearing_deg": centre, "bearing_compass": compass}
        return data

    @field_validator("bearing_deg", mode="before")
    @classmethod
    def _degrees_or_compass(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                raise ValueError(
                    f"{value!r} is neither degrees in [0, 360) nor one of the 16 compass "
                    "points (N, NNE, ... NNW)"
                ) from None
        return value

    # Cross-field checks are field validators on the later field (not model validators)
    # so that an error names a column: "sightings.csv:7 range_max_m", not just the row.
    @field_validator("bearing_compass")
    @classmethod
    def _compass(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        centre = compass_to_deg(value)
        if centre is None:
            raise ValueError(f"{value!r} is not one of the 16 compass points (N, NNE, ... NNW)")
        given = info.data.get("bearing_deg")
        if given is not None and given != centre:
            raise ValueError(
                f"compass point {value.upper()} is {centre} degrees, not bearing_deg {given}; "
                "give one or the other"
            )
        return value.upper()

    @field_validator("range_max_m")
    @classmethod
    def _range_order(cls, value: float | None, info: ValidationInfo) -> float | None:
        lo = info.data.get("range_min_m")
        if value is not None and lo is not None and lo > value:
            raise ValueError(f"range_min_m {lo:g} is greater than range_max_m {value:g}; swap them")
        return value

    @property
    def sigma_deg(self) -> float | None:
        """The bearing sigma given, or the compass sector's when a compass point was given."""
        if self.bearing_sigma_deg is not None:
            return self.bearing_sigma_deg
        return COMPASS_SIGMA_DEG if self.bearing_compass is not None else None


class Detection(Record):
    """An object placed directly on the ground (drone or camera imagery)."""

    record_type = "detection"
    model_config = ConfigDict(populate_by_name=True)

    id: RecordId
    time: UtcDatetime
    org: OrgId
    source: Name
    lat: Lat
    lon: Lon
    error_m: PositiveM
    class_: DetectionClass = Field(alias="class")
    count: Annotated[int, Field(ge=1, le=100_000)] = 1
    sortie: Name | None = None
    image: Annotated[str, Field(max_length=1024)] | None = None

    @field_validator("org")
    @classmethod
    def _org_known(cls, value: str, info: ValidationInfo) -> str:
        return check_org_known(value, info)


class Crater(Record):
    """A crater analysis: impact point, direction toward the firing position, calibre."""

    record_type = "crater"

    id: RecordId
    time: UtcDatetime
    org: OrgId
    lat: Lat
    lon: Lon
    direction_deg: Bearing
    direction_sigma_deg: Sigma | None = None
    caliber_mm: Annotated[float, Field(gt=0.0, le=1000.0, allow_inf_nan=False)] | None = None
    weapon: Name | None = None

    @field_validator("org")
    @classmethod
    def _org_known(cls, value: str, info: ValidationInfo) -> str:
        return check_org_known(value, info)


class Allegation(Record):
    """A side's claim that the other side violated the ceasefire: investigated, not believed."""

    record_type = "allegation"
    model_config = ConfigDict(populate_by_name=True)

    id: RecordId
    time: UtcDatetime
    by: OrgId
    against: OrgId
    lat: Lat
    lon: Lon
    radius_m: PositiveM
    text: Text = ""
    source: Annotated[str, Field(max_length=256)] | None = None

    @field_validator("by", "against")
    @classmethod
    def _side_known(cls, value: str, info: ValidationInfo) -> str:
        return check_org_known(value, info, roles=("side", "both"))

    @field_validator("against")
    @classmethod
    def _two_sides(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("by"):
            raise ValueError(f"an allegation by {value!r} against itself; check by/against")
        return value


class Assessment(Record):
    """One monitor org's judgement of an incident, with its own attribution."""

    record_type = "assessment"

    id: RecordId
    time: UtcDatetime
    org: OrgId
    incident: RecordId
    verdict: Verdict
    side: OrgId | None = None
    p_side: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    rationale: Text = ""

    @field_validator("org")
    @classmethod
    def _monitor_known(cls, value: str, info: ValidationInfo) -> str:
        return check_org_known(value, info, roles=("monitor", "both"))

    @field_validator("side")
    @classmethod
    def _side_known(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_org_known(value, info, roles=("side", "both"))


CountName = Annotated[str, Field(min_length=1, max_length=64)]


class Sortie(Record):
    """One drone flight's camera telemetry, recorded by the org that flew it.

    The telemetry file itself is the entry's blob (`sha256`); `ledger.telemetry` reads it
    back into a track. `counts` summarises what reading it dropped or met (CRC failures,
    samples without a position, times going backwards...), as `ingest.track` names them.
    """

    record_type = "sortie"

    id: RecordId
    org: OrgId
    drone: Name
    camera: Name
    format: Annotated[str, Field(pattern=r"^(tlog|dataflash|klv|csv)$")]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    start: UtcDatetime
    end: UtcDatetime
    samples: Annotated[int, Field(ge=1)]
    counts: dict[CountName, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)

    @field_validator("org")
    @classmethod
    def _monitor_known(cls, value: str, info: ValidationInfo) -> str:
        return check_org_known(value, info, roles=("monitor", "both"))

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: Any, info: ValidationInfo) -> Any:
        start = info.data.get("start")
        if start is not None and value < start:
            raise ValueError(f"end {value} is before start {start}; swap them")
        return value
