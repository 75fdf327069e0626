"""Reports and exports: what the monitors and the public read (maps, joint reports).

Above `analysis`: takes its results and renders them; no database, no wall clock.
"""

from ceasewatch.report.coverage import (
    COVERAGE_FILES,
    CoverageReport,
    build_coverage_report,
    camera_of,
    write_coverage_report,
)
from ceasewatch.report.coverage_map import CoverageMap, coverage_map, staleness_classes

__all__ = [
    "COVERAGE_FILES",
    "CoverageMap",
    "CoverageReport",
    "build_coverage_report",
    "camera_of",
    "coverage_map",
    "staleness_classes",
    "write_coverage_report",
]
