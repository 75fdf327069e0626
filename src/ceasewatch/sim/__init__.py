"""Scenario simulator with ground truth, for the demo, the tests and the benchmarks."""

from ceasewatch.sim.flights import Flight, Sortie, draw_sorties, fly
from ceasewatch.sim.klv_writer import write_klv
from ceasewatch.sim.scenario import (
    CONTRACT_FILES,
    Scenario,
    default_window,
    simulate,
    write_scenario,
)
from ceasewatch.sim.telemetry import write_telemetry
from ceasewatch.sim.tlog_writer import write_tlog

__all__ = [
    "CONTRACT_FILES",
    "Flight",
    "Scenario",
    "Sortie",
    "default_window",
    "draw_sorties",
    "fly",
    "simulate",
    "write_klv",
    "write_scenario",
    "write_telemetry",
    "write_tlog",
]
