"""Deterministic maths for `ceasewatch.analysis.footprint`: sines and cosines from IEEE 754
basic operations, rotation matrices, and convex clockwise quadrilaterals.

See the footprint module's docstring ("Determinism") for why only + - * / sqrt, floor,
round and comparisons run on the arrays.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ceasewatch.geo.geodesy import FloatArray

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
ArrayLike = float | FloatArray | npt.ArrayLike


# Taylor coefficients of sin (r^3 .. r^15) and cos (r^2 .. r^16) on |r| <= pi/4: the
# first term left out is below 1e-16 relative, under half an ulp.
_SIN = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(1, 8))
_COS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(1, 9))
_RAD = math.pi / 180.0


def sincos_deg(angle_deg: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Sine and cosine of angles in degrees, bit-identical on every CPU.

    The angle is reduced to the nearest multiple of 90 degrees (so 0, 90, 180... give
    exact 0 and 1) and a Taylor polynomial of degree 15/16 is evaluated on the rest,
    within 2 ulp of the true values. Only IEEE 754 basic operations are used.
    """
    a = np.asarray(angle_deg, dtype=np.float64)
    q = np.round(a / 90.0)
    r = a - q * 90.0
    r *= _RAD
    r2 = r * r
    ps = r2 * _SIN[-1]
    ps += _SIN[-2]
    for c in _SIN[-3::-1]:
        ps *= r2
        ps += c
    ps *= r2
    ps *= r
    ps += r  # sin r
    pc = r2 * _COS[-1]
    pc += _COS[-2]
    for c in _COS[-3::-1]:
        pc *= r2
        pc += c
    pc *= r2
    pc += 1.0  # cos r
    k = np.mod(q, 4.0)
    odd = (k == 1.0) | (k == 3.0)
    sin = np.where(odd, pc, ps)
    cos = np.where(odd, ps, pc)
    np.negative(sin, out=sin, where=k >= 2.0)
    np.negative(cos, out=cos, where=(k == 1.0) | (k == 2.0))
    return sin, cos


def _rotation(
    s: tuple[FloatArray, FloatArray, FloatArray], c: tuple[FloatArray, FloatArray, FloatArray]
) -> list[list[FloatArray]]:
    """Rz(yaw) Ry(pitch) Rx(roll) from the sines and cosines of (yaw, pitch, roll)."""
    sy, sp, sr = s
    cy, cp, cr = c
    spsr, spcr = sp * sr, sp * cr
    return [
        [cy * cp, cy * spsr - sy * cr, cy * spcr + sy * sr],
        [sy * cp, sy * spsr + cy * cr, sy * spcr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]


def _matmul(a: list[list[FloatArray]], b: list[list[FloatArray]]) -> list[list[FloatArray]]:
    """3x3 product of per-sample matrices, spelled out (BLAS may fuse multiply-adds)."""
    return [
        [a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j] for j in range(3)]
        for i in range(3)
    ]


def convex_quads(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Make quadrilaterals convex and clockwise (seen from above, x east, y north).

    Args:
        x, y: (N, 4) vertices.

    Returns:
        (x, y, reordered): a convex clockwise quadrilateral is kept as it is; a
        counter-clockwise one is reversed (its first vertex stays first); any other is
        replaced by the convex hull of its four points, clockwise, one vertex repeated
        when only three are on the hull. `reordered` marks the last two kinds.
    """
    x, y = x.copy(), y.copy()
    c = _turns(x, y)
    cw = (c <= 0.0).all(axis=1)
    ccw = ~cw & (c >= 0.0).all(axis=1)
    rev = np.flatnonzero(ccw)
    x[rev], y[rev] = x[rev][:, ::-1], y[rev][:, ::-1]
    x[rev], y[rev] = np.roll(x[rev], 1, axis=1), np.roll(y[rev], 1, axis=1)
    bad = np.flatnonzero(~cw & ~ccw & np.isfinite(c).all(axis=1))
    if len(bad):
        x[bad], y[bad] = _hull4(x[bad], y[bad])
    fixed = np.zeros(len(x), dtype=bool)
    fixed[rev] = True
    fixed[bad] = True
    return x, y, fixed


def _turns(x: FloatArray, y: FloatArray) -> FloatArray:
    """(N, 4) cross products of consecutive edges at each vertex (< 0: a right turn)."""
    ex, ey = np.roll(x, -1, axis=1) - x, np.roll(y, -1, axis=1) - y
    px, py = np.roll(ex, 1, axis=1), np.roll(ey, 1, axis=1)
    out: FloatArray = px * ey - py * ex
    return out


def _area(x: FloatArray, y: FloatArray) -> FloatArray:
    """Signed area (shoelace) of (N, 4) quadrilaterals: negative when clockwise."""
    xn, yn = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    t = x * yn - xn * y
    out: FloatArray = (t[:, 0] + t[:, 1] + t[:, 2] + t[:, 3]) / 2.0
    return out


def _hull4(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Convex hull of 4 points per row, clockwise, as 4 vertices (one repeated if needed).

    Graham's scan on four points: the lowest point (then leftmost) is on the hull; the
    other three, sorted counter-clockwise around it by cross products (ties: nearer
    first), give the hull, but for the middle one when it makes no left turn.
    """
    rows = np.arange(len(x))
    order = np.lexsort((x, y), axis=1)
    x, y = x[rows[:, None], order], y[rows[:, None], order]
    ax, ay = x[:, :1], y[:, :1]
    qx, qy = x[:, 1:] - ax, y[:, 1:] - ay  # (n, 3), every one at or above the anchor

    def swap_if(i: int, j: int) -> None:
        cr = qx[:, i] * qy[:, j] - qy[:, i] * qx[:, j]
        di = qx[:, i] * qx[:, i] + qy[:, i] * qy[:, i]
        dj = qx[:, j] * qx[:, j] + qy[:, j] * qy[:, j]
        s = (cr < 0.0) | ((cr == 0.0) & (di > dj))
        for q in (qx, qy):
            qi, qj = q[:, i].copy(), q[:, j].copy()
            q[:, i], q[:, j] = np.where(s, qj, qi), np.where(s, qi, qj)

    swap_if(0, 1)
    swap_if(1, 2)
    swap_if(0, 1)
    turn = (qx[:, 1] - qx[:, 0]) * (qy[:, 2] - qy[:, 1]) - (qy[:, 1] - qy[:, 0]) * (
        qx[:, 2] - qx[:, 1]
    )
    drop = ~(turn > 0.0)
    qx[drop, 1], qy[drop, 1] = qx[drop, 0], qy[drop, 0]
    # Counter-clockwise anchor, q0, q1, q2 -> clockwise anchor, q2, q1, q0.
    hx = np.column_stack([np.zeros(len(x)), qx[:, 2], qx[:, 1], qx[:, 0]]) + ax
    hy = np.column_stack([np.zeros(len(x)), qy[:, 2], qy[:, 1], qy[:, 0]]) + ay
    return hx, hy
