"""Joint analysis: pure functions from records to events, violations and findings.

No database, no wall clock, no unseeded randomness: the same records in any order give
the same output, byte for byte, on every node.
"""

from ceasewatch.analysis.files import analyse_files
from ceasewatch.analysis.model import AllegationFinding, Event, Violation
from ceasewatch.analysis.output import OUTPUT_FILES, write_analysis
from ceasewatch.analysis.pipeline import Analysis, analyse

__all__ = [
    "OUTPUT_FILES",
    "AllegationFinding",
    "Analysis",
    "Event",
    "Violation",
    "analyse",
    "analyse_files",
    "write_analysis",
]
