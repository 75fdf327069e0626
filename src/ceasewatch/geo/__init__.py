"""Geodesy, bearings, and theaters: their geometry over time and its checks.

The modules are imported by name (`ceasewatch.geo.theater`, `ceasewatch.geo.check`, ...);
this package re-exports the names most callers need.
"""

from ceasewatch.geo.geodesy import LocalFrame, azimuth_deg, distance_m, forward, inverse
from ceasewatch.geo.theater import Theater, TheaterState, load_theater, read_theater

__all__ = [
    "LocalFrame",
    "Theater",
    "TheaterState",
    "azimuth_deg",
    "distance_m",
    "forward",
    "inverse",
    "load_theater",
    "read_theater",
]
