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
    for how in ((), ("--deep",)):
        r = run_cli("verify", "--data", "na", *how, cwd=tmp_path)
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


def test_ingest_telemetry(tmp_path: Path) -> None:
    theater = Path(__file__).resolve().parents[1] / "src" / "ceasewatch" / "demo" / "theater"
    r = run_cli(
        "node", "init", "--org", "mon-a", "--theater", str(theater), "--data", "na", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    track = tmp_path / "flight.csv"
    rows = [f"2026-11-26T10:00:{k:02d}Z,40.{k:03d},46.5,600,90,-45,horizon" for k in range(4)]
    rows.append("2026-11-26T09:00:00Z,40.1,46.5,600,90,-45,horizon")  # time goes backwards
    header = "time,lat_deg,lon_deg,alt_msl_m,yaw_deg,gimbal_pitch_deg,gimbal_frame"
    track.write_text("\n".join([header, *rows]) + "\n")
    args = ("ingest", "telemetry", "flight.csv", "--sortie", "a1-1", "--drone", "uav-a1")
    r = run_cli(*args, "--data", "na", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "csv, 4 sample(s) from 2026-11-26T10:00:00Z to 2026-11-26T10:00:03Z (3 s)" in r.stdout
    assert "camera eo-30" in r.stdout and "time_backwards 1" in r.stdout
    assert "sortie a1-1 appended to ceasewatch.mon-a." in r.stdout and "(entry 0)" in r.stdout
    r = run_cli(*args, "--data", "na", cwd=tmp_path)
    assert r.returncode == 0 and "nothing appended" in r.stdout and "entry 0" in r.stdout
    r = run_cli(*args[:-1], "uav-b1", "--data", "na", cwd=tmp_path)
    assert r.returncode == 1 and "ingest this at mon-b's node" in r.stderr
    (tmp_path / "notes.txt").write_text("not telemetry\n")
    r = run_cli("ingest", "telemetry", "notes.txt", *args[3:], "--data", "na", cwd=tmp_path)
    assert r.returncode == 1 and "MAVLink telemetry log" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("verify", "--data", "na", cwd=tmp_path)
    assert r.returncode == 0 and "1 entries" in r.stdout, r.stderr
