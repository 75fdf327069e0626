"""The public surface: every name a package exports exists (and drift is noticed)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = {
    "ceasewatch": {"__version__"},
    "ceasewatch.geo": {"Theater", "load_theater", "LocalFrame", "inverse", "forward"},
    "ceasewatch.records": {
        "Sighting",
        "Detection",
        "Crater",
        "Allegation",
        "Assessment",
        "Sortie",
        "read_records",
    },
    "ceasewatch.sim": {"simulate", "write_scenario", "default_window", "write_telemetry"},
    "ceasewatch.demo": {"run_demo", "demo_theater_dir"},
    "ceasewatch.report": {"build_coverage_report", "write_coverage_report", "coverage_map"},
    "ceasewatch.errors": {"CeasewatchError", "InvalidInput", "Problem"},
    "ceasewatch.ingest": {
        "read_tlog",
        "load_tlog",
        "read_dataflash",
        "iter_packets",
        "inspect_telemetry",
        "read_track",
        "Track",
    },
    "ceasewatch.ledger": {
        "MerkleTree",
        "Checkpoint",
        "CosignatureSigner",
        "CosignatureVerifier",
        "Ed25519Signer",
        "Ed25519Verifier",
        "open_checkpoint",
        "sign_checkpoint",
        "cosign",
        "open_note",
        "sign_note",
        "verify_inclusion",
        "verify_consistency",
    },
    "ceasewatch.ledger.merkle": {
        "leaf_hash",
        "node_hash",
        "root",
        "inclusion_proof",
        "consistency_proof",
        "verify_inclusion",
        "verify_consistency",
        "MerkleTree",
        "first_bad_level",
        "differing_ranges",
        "bracket_divergence",
    },
    "ceasewatch.ledger.note": {
        "Ed25519Signer",
        "Ed25519Verifier",
        "Signature",
        "OpenedNote",
        "open_note",
        "parse_note",
        "sign_note",
        "decode_vkey",
        "encode_vkey",
        "key_id",
    },
    "ceasewatch.ledger.checkpoint": {
        "Checkpoint",
        "CosignatureSigner",
        "CosignatureVerifier",
        "SignedCheckpoint",
        "cosign",
        "cosignature_message",
        "open_checkpoint",
        "sign_checkpoint",
    },
}


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert PACKAGES[name] <= exported
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ lists {attr} but it is not there"
