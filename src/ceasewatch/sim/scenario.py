"""`ceasewatch sim`: a seeded scenario with ground truth, written as the contract files.

One numpy Generator (PCG64, seeded) drives everything in a fixed order, so the same
theater, seed, start and hours give byte-identical files on every machine. The drones'
sorties are drawn last, so the theater's fleet changes none of the other files; their
telemetry is written only when asked (`write_scenario(..., telemetry=True)`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ceasewatch.errors import InvalidInput
from ceasewatch.geo.theater import Theater
from ceasewatch.records import SPECS, Record, format_time, parse_time, write_records
from ceasewatch.sim.flights import Sortie, draw_sorties
from ceasewatch.sim.observe import Observations, PostProfile, observe, post_profiles
from ceasewatch.sim.telemetry import DEFAULT_RATE_HZ, check_rate, write_telemetry
from ceasewatch.sim.truth import Truth, draw_truth

__all__ = ["CONTRACT_FILES", "Scenario", "default_window", "simulate", "write_scenario"]

#: The files a scenario writes, by contract name.
CONTRACT_FILES = ("sightings", "detections", "craters", "allegations")


@dataclass
class Scenario:
    theater: Theater
    seed: int
    truth: Truth
    profiles: list[PostProfile]
    observations: Observations
    sorties: list[Sortie] = field(default_factory=list)

    def records(self, name: str) -> list[Record]:
        """The records of one contract file ("sightings", "detections", ...)."""
        obs = self.observations
        by_name: dict[str, list[Record]] = {
            "sightings": list(obs.sightings),
            "detections": list(obs.detections),
            "craters": list(obs.craters),
            "allegations": list(obs.allegations),
        }
        return by_name[name]


def default_window(
    theater: Theater, start: datetime | None = None, hours: float | None = None
) -> tuple[datetime, float]:
    """The window to simulate: the given start and hours, else the theater's [sim] ones.

    Raises:
        InvalidInput: no start given and the theater has no [sim] start.
    """
    sim = theater.settings.get("sim", {})
    if hours is None:
        hours = float(sim.get("hours", 24))
    if start is not None:
        return start, hours
    if "start" not in sim:
        raise InvalidInput(
            f"theater {theater.name!r} has no [sim] start; give --start, e.g. 2026-11-26T00:00:00Z"
        )
    try:
        return parse_time(sim["start"]), hours
    except ValueError as exc:
        raise InvalidInput(f"theater.toml [sim] start: {exc}") from None


def simulate(
    theater: Theater,
    seed: int,
    start: datetime,
    hours: float,
    progress: Callable[[str], None] | None = None,
    *,
    fire_rate_per_h: float = 1.5,
    gross_error_rate: float = 0.04,
) -> Scenario:
    """Simulate `hours` from `start` on the theater: ground truth and observations.

    Args:
        fire_rate_per_h: mean number of episodes of fire (or movement) per hour.
        gross_error_rate: share of bearings that are gross errors (20-90 degrees off).
    """
    if not 0 < hours <= 24 * 31:
        raise InvalidInput(f"hours must be in (0, 744], got {hours}")
    if start.tzinfo is None:
        raise InvalidInput("the start time needs a UTC offset")
    rng = np.random.Generator(np.random.PCG64(seed))
    profiles = post_profiles(theater.at(start).posts, rng)
    if progress:
        progress("drawing ground truth")
    truth = draw_truth(theater, start, hours, rng, fire_rate_per_h)
    if progress:
        progress("observing")
    obs = observe(truth, theater, profiles, rng, gross_error_rate)
    if progress and theater.drones:
        progress("planning sorties")
    sorties = draw_sorties(theater, start, hours, rng)
    return Scenario(theater, seed, truth, profiles, obs, sorties)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value"):
        return value.value
    return value


def write_scenario(
    scenario: Scenario,
    out: Path,
    *,
    telemetry: bool = False,
    telemetry_hz: float = DEFAULT_RATE_HZ,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Write the contract CSV files and truth.json into `out`; return their paths.

    With `telemetry`, also each sortie's telemetry file and the manifest
    `telemetry/sorties.csv` (paths "telemetry": the folder, "sorties": the manifest);
    see `sim.telemetry.write_telemetry`, sampled `telemetry_hz` times a second.

    Raises:
        InvalidInput: `telemetry_hz` is out of range (checked before anything is written).
    """
    if telemetry:
        check_rate(telemetry_hz)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in CONTRACT_FILES:
        path = out / f"{name}.csv"
        write_records(path, SPECS[name], scenario.records(name))
        paths[name] = path
    t, obs = scenario.truth, scenario.observations
    truth = {
        "theater": scenario.theater.name,
        "seed": scenario.seed,
        "start": format_time(t.start),
        "end": format_time(t.start + timedelta(hours=t.hours)),
        "posts": [asdict(p) for p in scenario.profiles],
        "episodes": [asdict(e) for e in t.episodes],
        "occurrences": [asdict(o) for o in t.occurrences],
        "sites": [asdict(s) for s in t.sites],
        "sightings": obs.sighting_truth,
        "detections": obs.detection_truth,
        "craters": obs.crater_truth,
        "allegations": obs.allegation_truth,
    }
    paths["truth"] = out / "truth.json"
    paths["truth"].write_text(
        json.dumps(_jsonable(truth), indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    if telemetry:
        folder = out / "telemetry"
        written = write_telemetry(
            scenario.theater, scenario.sorties, folder, rate_hz=telemetry_hz, progress=progress
        )
        paths["telemetry"] = folder
        paths["sorties"] = written["sorties"]
    return paths
