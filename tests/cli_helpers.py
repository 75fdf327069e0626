"""Running the real `ceasewatch` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["run_cli"]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m ceasewatch ARGS` in `cwd`, wide and colourless, output captured."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ceasewatch", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )
