"""Field types shared by every record kind: UTC times, WGS84 positions, ids, bearings."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

__all__ = [
    "Bearing",
    "Lat",
    "Lon",
    "OrgId",
    "PositiveM",
    "RecordId",
    "UtcDatetime",
    "format_time",
    "parse_time",
    "posix_us",
]

_ORG_RE = re.compile(r"[a-z0-9-]+")


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time with an offset (or a timezone-aware datetime), as UTC.

    Raises:
        ValueError: the text is not ISO 8601 or carries no offset; the message says what
            to write instead.
    """
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            t = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an ISO 8601 time; write e.g. 2026-11-26T14:05:00Z"
            ) from None
    else:
        raise ValueError(f"expected an ISO 8601 time, got {type(value).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(
            f"{value!s} has no UTC offset; a local time is ambiguous: add Z (UTC) or +HH:MM"
        )
    try:
        return t.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:00:00-02:00 parses, but its UTC instant is past datetime.max.
        raise ValueError(f"{value!s} is out of range once converted to UTC") from None


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with a Z, microseconds only when there are any.

    Raises:
        ValueError: `t` is naive (it would otherwise be taken as the machine's local time).
    """
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{t} has no UTC offset; cannot format it as UTC")
    # isoformat, not strftime: strftime("%Y") does not zero-pad years before 1000 on glibc,
    # which would give text that parse_time cannot read back.
    t = t.astimezone(UTC).replace(tzinfo=None)
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds") + "Z"


def _check_org(value: str) -> str:
    if not _ORG_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not an org id: use lowercase letters, digits and '-'")
    return value


UtcDatetime = Annotated[
    datetime,
    BeforeValidator(parse_time),
    PlainSerializer(format_time, return_type=str),
]
Lat = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
Bearing = Annotated[float, Field(ge=0.0, lt=360.0, allow_inf_nan=False)]
PositiveM = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
OrgId = Annotated[str, Field(max_length=64), AfterValidator(_check_org)]
RecordId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]


def posix_us(t: datetime) -> int:
    """Microseconds since the POSIX epoch of an aware time, exactly (no float)."""
    d = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
