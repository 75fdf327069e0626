"""Types of the C extension `ceasewatch.analysis._masscore` (see `_area_index.masses`)."""

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.intp]

def set_constants(
    two_j32: _F, two_k32: _F, nodes_x: _F, nodes_w: _F, erfc: _F, exp_series: _F, scalars: _F, /
) -> None: ...
def masses(
    qx: _F,
    qy: _F,
    l11: _F,
    l21: _F,
    l22: _F,
    ax: _F,
    ay: _F,
    bx: _F,
    by: _F,
    area: _I,
    i: _I,
    k: _I,
    m: int,
    chunk: int,
    mass: _F,
    degenerate: npt.NDArray[np.bool_],
    /,
) -> None: ...
def exp(x: _F, out: _F, /) -> None: ...
def q(x: _F, out: _F, /) -> None: ...
def owens_t_signed(h: _F, a: _F, out: _F, /) -> None: ...
