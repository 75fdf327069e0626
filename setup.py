"""The compiled parts of ceasewatch: optional C extensions for hot loops.

Everything else is declared in pyproject.toml. Every extension is optional: where it cannot
be built (no C compiler, another architecture) pip installs ceasewatch without it, and the
module that uses it runs its numpy or pure-Python functions, which give the same bytes.

- `ceasewatch.ledger._speedups`: the hot loops of verify (SHA-256, packed comparisons).
- `ceasewatch.analysis._fitcore`: the Gauss-Newton bearing fits of `analysis._batchfit`.
- `ceasewatch.analysis._masscore`: the Gaussian masses of attribution's p_side (Owen's T).
- `ceasewatch.analysis._groupcore`: association's grouping walk (integers only; the fits
  stay in numpy).
- `ceasewatch.analysis._paircore`: association's candidate-pair tests (`_candidates`).

Kernels of the analysis must give the bits of their numpy counterparts: they are compiled
with `FLOAT_FLAGS` (no fused multiply-add, no reassociation), so each + - * / and sqrt is
the one correctly rounded IEEE 754 operation numpy performs.
"""

from setuptools import Extension, setup

FLOAT_FLAGS = ["-O2", "-ffp-contract=off", "-fno-fast-math", "-fexcess-precision=standard"]

setup(
    ext_modules=[
        Extension(
            "ceasewatch.ledger._speedups",
            ["src/ceasewatch/ledger/_speedups.c"],
            optional=True,
        ),
        Extension(
            "ceasewatch.analysis._fitcore",
            ["src/ceasewatch/analysis/_fitcore.c"],
            extra_compile_args=FLOAT_FLAGS,
            optional=True,
        ),
        Extension(
            "ceasewatch.analysis._masscore",
            ["src/ceasewatch/analysis/_masscore.c"],
            depends=["src/ceasewatch/analysis/_buffers.h"],
            extra_compile_args=FLOAT_FLAGS,
            optional=True,
        ),
        Extension(
            "ceasewatch.analysis._groupcore",
            ["src/ceasewatch/analysis/_groupcore.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        Extension(
            "ceasewatch.analysis._paircore",
            ["src/ceasewatch/analysis/_paircore.c"],
            depends=["src/ceasewatch/analysis/_buffers.h"],
            extra_compile_args=FLOAT_FLAGS,
            optional=True,
        ),
    ]
)
