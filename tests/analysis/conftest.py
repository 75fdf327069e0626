"""Fixtures of the analysis tests.

CEASEWATCH_NUMPY=1 runs every test on the numpy and Python code that the optional C
kernels stand for (`_fitcore`, `_masscore`, `_groupcore`; they give the same bits), as on
a machine where they are not built (the test_*core modules, which compare the two paths
themselves, run as they are):

    CEASEWATCH_NUMPY=1 .venv/bin/python -m pytest -q tests/analysis
"""

from __future__ import annotations

import os

import pytest

from ceasewatch.analysis import _area_index, _assoc_group, _batchfit, _candidates


@pytest.fixture(autouse=True)
def _numpy_only(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("CEASEWATCH_NUMPY") == "1" and not request.module.__name__.endswith("core"):
        for module in (_batchfit, _area_index, _assoc_group, _candidates):
            monkeypatch.setattr(module, "ACCELERATED", False)
