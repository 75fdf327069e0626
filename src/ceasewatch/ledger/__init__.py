"""The joint record: each org's append-only Merkle log, its signed checkpoints and cosignatures.

- `merkle`: RFC 9162 tree hashing, inclusion and consistency proofs, and the tools to find where
  a stored log differs from what was signed.
- `note`: C2SP signed notes with named Ed25519 keys (vkeys, as Go's checksum database uses).
- `checkpoint`: C2SP tlog-checkpoint tree heads, signed by the org, cosigned by the other
  monitors (C2SP tlog-cosignature).

Any entry is proven to a third party by an inclusion proof (`merkle.verify_inclusion`) to the
root of a checkpoint that `checkpoint.open_checkpoint` has verified.
"""

from ceasewatch.ledger.checkpoint import (
    Checkpoint,
    Cosignature,
    CosignatureSigner,
    CosignatureVerifier,
    SignedCheckpoint,
    cosign,
    open_checkpoint,
    sign_checkpoint,
)
from ceasewatch.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    bracket_divergence,
    differing_ranges,
    first_bad_level,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from ceasewatch.ledger.note import (
    Ed25519Signer,
    Ed25519Verifier,
    OpenedNote,
    Signature,
    open_note,
    sign_note,
)

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "Cosignature",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "MerkleTree",
    "OpenedNote",
    "Signature",
    "SignedCheckpoint",
    "bracket_divergence",
    "cosign",
    "differing_ranges",
    "first_bad_level",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
]
