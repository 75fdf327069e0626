"""Types of the C extension `ceasewatch.analysis._fitcore` (see `analysis._batchfit`)."""

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.intp]

def fit_many(
    x: _F,
    y: _F,
    s: _F,
    c: _F,
    w: _F,
    rm: _F,
    wr: _F,
    band: _I,
    px: _F,
    py: _F,
    flat: _I,
    ptr: _I,
    start_x: _F | None,
    start_y: _F | None,
    max_iter: int,
    out_x: _F,
    out_y: _F,
    out_cee: _F,
    out_cen: _F,
    out_cnn: _F,
    out_chi2: _F,
    out_dof: _I,
    /,
) -> None: ...
def fisher(
    ox: _F,
    oy: _F,
    wr: _F,
    wcol: _F,
    gv: float | None,
    flat: _I,
    ptr: _I,
    x: _F,
    y: _F,
    out_f11: _F,
    out_f12: _F,
    out_f22: _F,
    /,
) -> None: ...
def bearing_z(
    ox: _F, oy: _F, s: _F, c: _F, sigma: _F, ob: _I, x: _F, y: _F, out: _F, /
) -> None: ...
def atan2(y: _F, x: _F, out: _F, /) -> None: ...
