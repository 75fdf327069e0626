"""Independent chunks of work on forked processes (the CPUs the analysis may use).

Threads do not help pure-Python work (the GIL), and a process pool that pickles its
inputs spends as long shipping events as formatting them. A forked child inherits the
parent's memory instead: `fork_map(fn, shared, n)` runs `fn(shared, i)` for i in
range(n), the children reading `shared` from the copy-on-write memory they inherit, and
only the results (strings, numpy arrays: cheap to pickle) come back. Results are in task
order, whatever order the children finish in, so the output is what the serial loop
gives; with one worker (or where fork is unavailable) it is that loop.

Forking a process that runs other threads can inherit a held lock, so the analysis forks
only when asked (`workers`; the CLI and the benchmark ask for every CPU), never from a
library default.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["available_cpus", "fork_map", "spans"]

_R = TypeVar("_R")

#: (fn, shared) of the running `fork_map` under "job", inherited by its children.
_JOB: dict[str, tuple[Callable[[Any, int], Any], Any]] = {}


def available_cpus() -> int:
    """CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def spans(n: int, parts: int) -> list[tuple[int, int]]:
    """[start, stop) of `parts` near-equal consecutive slices of range(n) (none empty)."""
    parts = max(1, min(parts, n))
    cuts = [n * k // parts for k in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _run(i: int) -> Any:
    fn, shared = _JOB["job"]
    return fn(shared, i)


def fork_map(fn: Callable[[Any, int], _R], shared: Any, n: int, workers: int) -> list[_R]:
    """[fn(shared, i) for i in range(n)], on up to `workers` forked processes.

    `fn` must be a module-level function (it is named to the children, not pickled with
    its state); its results must pickle. An exception in a task is raised here.
    """
    serial = workers <= 1 or n <= 1 or "fork" not in multiprocessing.get_all_start_methods()
    # Nested in a running map, or in a daemonic process (which may not have children):
    # serial too.
    if serial or _JOB or multiprocessing.current_process().daemon:
        return [fn(shared, i) for i in range(n)]
    _JOB["job"] = (fn, shared)
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, n)) as pool:
            return pool.map(_run, range(n), chunksize=1)
    finally:
        _JOB.clear()
