"""The joint record from the command line: node, ingest, verify, prove, check."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ceasewatch", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_node_ingest_verify_prove_and_check(tmp_path: Path) -> None:
    assert _run("sim", "demo", "--hours", "4", "--out", "scn", cwd=tmp_path).returncode == 0
    r = _run(
        "node", "init", "--org", "mon-a", "--theater", "scn/../scn", "--data", "na", cwd=tmp_path
    )
    assert r.returncode == 1  # scn is not a theater: refused with a reason, no traceback
    assert "Traceback" not in r.stderr
    theater = Path(__file__).resolve().parents[1] / "src" / "ceasewatch" / "demo" / "theater"
    r = _run(
        "node", "init", "--org", "mon-a", "--theater", str(theater), "--data", "na", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert oct((tmp_path / "na" / "keys" / "mon-a.skey").stat().st_mode & 0o777) == "0o600"
    vkey = _run("node", "key", "--data", "na", cwd=tmp_path).stdout.strip()
    name, key_id, _ = vkey.split("+", 2)  # base64 may hold more "+"
    assert name.startswith("ceasewatch.mon-a.") and len(key_id) == 8

    with (tmp_path / "scn" / "sightings.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    own = tmp_path / "own.csv"
    with own.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(rows[0])
        w.writerows(r for r in rows[1:] if r[2] == "mon-a")
    r = _run("ingest", "sightings", "scn/sightings.csv", "--data", "na", cwd=tmp_path)
    assert r.returncode == 1 and "another org" in r.stderr  # all or nothing
    r = _run("ingest", "sightings", str(own), "--data", "na", cwd=tmp_path)
    assert r.returncode == 0 and "appended" in r.stdout, r.stderr
    r = _run("ingest", "sightings", str(own), "--data", "na", cwd=tmp_path)
    assert "duplicate" in r.stdout and "nothing appended" in r.stdout
    r = _run("verify", "--data", "na", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stderr
    excerpt = tmp_path / "e0.json"
    excerpt.write_text(_run("ledger", "prove", "0", "--data", "na", cwd=tmp_path).stdout)
    r = _run("ledger", "check", str(excerpt), "--vkey", vkey, cwd=tmp_path)
    assert r.returncode == 0 and "proven" in r.stdout, r.stderr
    forged = (
        excerpt.read_text()
        .replace('"index":0', '"index":1', 1)
        .replace('"index": 0', '"index": 1', 1)
    )
    excerpt.write_text(forged)
    r = _run("ledger", "check", str(excerpt), "--vkey", vkey, cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
