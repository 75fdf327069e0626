"""The one compiled part of ceasewatch: `ceasewatch.ledger._speedups` (the hot loops of verify).

Everything else is declared in pyproject.toml. The extension is optional: where it cannot be
built (no C compiler, another architecture) pip installs ceasewatch without it, and
`ceasewatch.ledger._bulk` uses its pure-Python functions, which give the same bytes.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ceasewatch.ledger._speedups",
            ["src/ceasewatch/ledger/_speedups.c"],
            optional=True,
        )
    ]
)
