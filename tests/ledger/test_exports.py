"""The ledger's public surface: every exported name exists, and none goes missing unnoticed."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
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


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert PUBLIC[name] <= exported
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ lists {attr} but it is not there"
