"""Scenario simulator with ground truth, for the demo, the tests and the benchmarks."""

from ceasewatch.sim.scenario import (
    CONTRACT_FILES,
    Scenario,
    default_window,
    simulate,
    write_scenario,
)

__all__ = ["CONTRACT_FILES", "Scenario", "default_window", "simulate", "write_scenario"]
