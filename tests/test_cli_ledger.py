"""The joint record from the command line: node, ingest, verify, prove, check."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli_helpers import run_cli


def test_node_ingest_verify_prove_and_check(tmp_path: Path) -> None:
    assert run_cli("sim", "demo", "--hours", "4", "--out", "scn", cwd=tmp_path).returncode == 0
    r = run_cli(
        "node", "init", "--org", "mon-a", "--theater", "scn/../scn", "--data", "na", cwd=tmp_path
    )
    assert r.returncode == 1  # scn is not a theater: refused with a reason, no traceback
    assert "Traceback" not in r.stderr
    theater = Path(__file__).resolve().parents[1] / "src" / "ceasewatch" / "demo" / "theater"
    r = run_cli(
        "node", "init", "--org", "mon-a", "--theater", str(theater), "--data", "na", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert oct((tmp_path / "na" / "keys" / "mon-a.skey").stat().st_mode & 0o777) == "0o600"
    vkey = run_cli("node", "key", "--data", "na", cwd=tmp_path).stdout.strip()
    name, key_id, _ = vkey.split("+", 2)  # base64 may hold more "+"
    assert name.startswith("ceasewatch.mon-a.") and len(key_id) == 8

    with (tmp_path / "scn" / "sightings.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    own = tmp_path / "own.csv"
    with own.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(rows[0])
        w.writerows(r for r in rows[1:] if r[2] == "mon-a")
    r = run_cli("ingest", "sightings", "scn/sightings.csv", "--data", "na", cwd=tmp_path)
    assert r.returncode == 1 and "another org" in r.stderr  # all or nothing
    r = run_cli("ingest", "sightings", str(own), "--data", "na", cwd=tmp_path)
    assert r.returncode == 0 and "appended" in r.stdout, r.stderr
    r = run_cli("ingest", "sightings", str(own), "--data", "na", cwd=tmp_path)
    assert "duplicate" in r.stdout and "nothing appended" in r.stdout
    r = run_cli("verify", "--data", "na", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stderr
    excerpt = tmp_path / "e0.json"
    excerpt.write_text(run_cli("ledger", "prove", "0", "--data", "na", cwd=tmp_path).stdout)
    r = run_cli("ledger", "check", str(excerpt), "--vkey", vkey, cwd=tmp_path)
    assert r.returncode == 0 and "proven" in r.stdout, r.stderr
    forged = (
        excerpt.read_text()
        .replace('"index":0', '"index":1', 1)
        .replace('"index": 0', '"index": 1', 1)
    )
    excerpt.write_text(forged)
    r = run_cli("ledger", "check", str(excerpt), "--vkey", vkey, cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
