from __future__ import annotations

import csv
from pathlib import Path

from tests.cli_helpers import run_cli


def test_sim_telemetry_writes_the_sorties(tmp_path: Path) -> None:
    common = ("sim", "demo", "--seed", "21", "--start", "2026-11-26T06:00:00Z", "--hours", "1")
    r = run_cli(*common, "--out", "scn", "--telemetry", "--telemetry-hz", "0.05", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "scn" / "telemetry"
    with (folder / "sorties.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and f"{len(rows)} sorties" in r.stdout
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["sorties.csv", *(row["file"] for row in rows)]
    )
    r = run_cli(*common, "--out", "bad", "--telemetry", "--telemetry-hz", "0", cwd=tmp_path)
    assert r.returncode == 1 and "rate" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "bad").exists()
