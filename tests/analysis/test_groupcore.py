"""The grouping walk in C (`_groupcore.Groups`) against the Python walk it stands for.

`_assoc_group._run_c` and `_run_py` take the same queues of pairs from the same groups;
the fits are replaced here by a deterministic stand-in (any function of the members and
warm start will do: the walk only needs the same answers on both sides), so that random
queues exercise every branch: pairs of singles, singles joining groups, groups merging,
one observer twice, confusable kinds, pairs held for later rounds.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.analysis import _assoc_group
from ceasewatch.analysis._assoc_group import Grouped

pytestmark = pytest.mark.skipif(
    not _assoc_group.ACCELERATED, reason="ceasewatch.analysis._groupcore is not built"
)

FloatArray = Any


def _fake_fits(
    ctx: Any, flat: Any, ptr: Any, x0: FloatArray, y0: FloatArray, *, keep: Any = None
) -> tuple[FloatArray, FloatArray, Any]:
    """A fix of each group (members' sum, and the warm start where given) and a verdict
    that depends on the members, as the real test's does."""
    sums = np.add.reduceat(flat, ptr[:-1]) if len(flat) else np.zeros(0, dtype=np.intp)
    sizes = np.diff(ptr)
    ok = (sums * 7 + sizes) % 5 != 0
    x = np.where(np.isnan(x0), sums.astype(np.float64), x0 + 0.5)
    y = sizes.astype(np.float64) + 0.25
    return x, y, ok


def _scene(
    seed: int, n: int, n_pairs: int, n_queues: int, n_who: int
) -> tuple[Any, Any, tuple[Any, Any, Any], Grouped]:
    rng = np.random.default_rng(seed)
    who = rng.integers(0, n_who, n)
    i = rng.integers(0, n, n_pairs)
    j = rng.integers(0, n, n_pairs)
    keep = (i != j) & (who[i] != who[j])
    i, j = i[keep], j[keep]
    cuts = np.unique(np.concatenate([[0, len(i)], rng.integers(0, len(i) + 1, n_queues)]))
    # A few groups to start from (disjoint, sorted; some with a fix).
    perm = rng.permutation(n)[: n // 4]
    groups = [sorted(perm[k : k + 3].tolist()) for k in range(0, len(perm) - 2, 3)]
    fixes = [(float(k), float(-k)) if k % 2 else None for k in range(len(groups))]
    base = Grouped.of(groups, fixes)
    ctx = SimpleNamespace(static=SimpleNamespace(who=who))
    return ctx, np.arange(n), (i, j, cuts.astype(np.intp)), base


def _same(a: Grouped, b: Grouped) -> bool:
    return all(
        np.array_equal(x, y) and x.dtype == y.dtype
        for x, y in zip(
            (a.members, a.ptr, a.fx.view(np.int64), a.fy.view(np.int64), a.has_fix),
            (b.members, b.ptr, b.fx.view(np.int64), b.fy.view(np.int64), b.has_fix),
            strict=True,
        )
    )


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    n_pairs=st.integers(0, 300),
    n_queues=st.integers(0, 6),
    n_who=st.integers(2, 12),
    cross=st.booleans(),
    waiting=st.sampled_from([1, 2, 3, 10**9]),
    with_base=st.booleans(),
)
def test_the_c_walk_is_the_python_walk(  # noqa: PLR0917 (Hypothesis passes them so)
    seed: int, n: int, n_pairs: int, n_queues: int, n_who: int, cross: bool, waiting: int,
    with_base: bool,
) -> None:  # fmt: skip
    ctx, ids, queues, base = _scene(seed, n, n_pairs, n_queues, n_who)
    if not with_base:
        base = Grouped.of([], [])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_assoc_group, "consistent_flat", _fake_fits)
        mp.setattr(_assoc_group, "SCAN_WAITING", waiting)
        got = _assoc_group._run_c(ctx, ids, queues, base, cross=cross)
        want = _assoc_group._run_py(ctx, ids, queues, base, cross=cross)
    assert _same(got, want)


def _groups(n: int) -> Any:
    from ceasewatch.analysis import _groupcore

    return _groupcore.Groups(np.zeros(n, dtype=np.int64))


def test_bad_arrays_are_refused_not_read() -> None:
    g = _groups(4)
    ints = np.array([0, 1], dtype=np.intp)
    with pytest.raises(TypeError, match="int64"):
        g.scan(ints.astype(np.float64), ints, np.array([0, 2]), False, 2)
    with pytest.raises(TypeError, match="int64"):
        g.scan(ints.astype(np.int32), ints, np.array([0, 2]), False, 2)
    with pytest.raises(IndexError, match="sighting 9"):
        g.scan(np.array([0, 9]), ints, np.array([0, 2]), False, 2)
    with pytest.raises(ValueError, match="qptr"):
        g.scan(ints, ints, np.array([0, 5]), False, 2)
    with pytest.raises(ValueError, match="qptr"):
        g.scan(ints, ints[:1], np.array([0, 2]), False, 2)
    with pytest.raises(ValueError, match="scan_waiting"):
        g.scan(ints, ints, np.array([0, 2]), False, 0)
    with pytest.raises(TypeError, match="1-D"):
        g.scan(np.zeros((2, 2), dtype=np.intp), ints, np.array([0, 2]), False, 2)
    with pytest.raises(ValueError, match="expected 0 outcomes"):
        g.apply(np.ones(1, dtype=bool), np.zeros(1), np.zeros(1))


def test_bad_groups_are_refused() -> None:
    g = _groups(4)
    none = np.zeros(1), np.zeros(1), np.zeros(1, dtype=bool)
    with pytest.raises(ValueError, match="not sorted"):
        g.add(np.array([2, 1]), np.array([0, 2]), *none)
    with pytest.raises(IndexError, match="sighting 7"):
        g.add(np.array([1, 7]), np.array([0, 2]), *none)
    with pytest.raises(ValueError, match="offsets"):
        g.add(np.array([1, 2]), np.array([0, 3]), *none)
    g.add(np.array([1, 2]), np.array([0, 2]), *none)
    with pytest.raises(ValueError, match="two groups"):
        g.add(np.array([0, 2]), np.array([0, 2]), *none)
    members, ptr, *_ = g.groups()
    assert np.frombuffer(members, np.intp).tolist() == [1, 2]
    assert np.frombuffer(ptr, np.intp).tolist() == [0, 2]
