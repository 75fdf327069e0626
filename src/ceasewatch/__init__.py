"""Ceasewatch: software for a joint ceasefire monitoring center.

Locate and attribute violations along a contact line from observers' sightings, drone
detections and crater analyses; keep one tamper-evident record that several monitoring
organisations share. See docs/architecture.md for the map of the packages.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
