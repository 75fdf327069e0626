"""Fixtures of the analysis tests.

CEASEWATCH_NUMPY_FITS=1 runs every test on the numpy code of `_batchfit` instead of its C
kernels (`_fitcore`), which give the same bits:

    CEASEWATCH_NUMPY_FITS=1 .venv/bin/python -m pytest -q tests/analysis
"""

from __future__ import annotations

import os

import pytest

from ceasewatch.analysis import _batchfit


@pytest.fixture(autouse=True)
def _numpy_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("CEASEWATCH_NUMPY_FITS") == "1":
        monkeypatch.setattr(_batchfit, "_fitcore", None)
