"""Shared fixtures: the bundled demo theater and the real public samples in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceasewatch.demo import demo_theater_dir
from ceasewatch.geo.theater import Theater, load_theater

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "data" / "samples"


@pytest.fixture(scope="session")
def demo_theater() -> Theater:
    return load_theater(demo_theater_dir())


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """../shared/data/samples; tests that need it skip when it is absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"real sample files not found at {SAMPLES}")
    return SAMPLES
