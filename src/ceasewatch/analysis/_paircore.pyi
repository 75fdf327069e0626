from typing import Any

# arrays: end, who, what (intp), has_band (bool), x, y, sn, cs, lo, hi, mid, tol_sin, corr,
# heard, var (float64, one per row), then the outputs z2 (float64), i, j (intp).
def pairs(i0: int, i1: int, min_sin: float, z_max: float, /, *arrays: Any) -> int: ...
