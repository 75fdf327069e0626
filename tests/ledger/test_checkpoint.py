"""Checkpoints and cosignatures: C2SP formats, a real Sigsum log and witness, a golden file."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger.checkpoint import (
    MAX_TIMESTAMP,
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    cosign,
    cosignature_message,
    open_checkpoint,
    sign_checkpoint,
)
from ceasewatch.ledger.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, verify_inclusion
from ceasewatch.ledger.note import (
    Ed25519Signer,
    Ed25519Verifier,
    Signature,
    open_note,
    parse_note,
    sign_note,
)
from tests.ledger.common import DATA, load, numbered_leaves, seed, ssh_ed25519_key

SPEC = load("checkpoint_vectors.json")
LOG = Ed25519Signer("monitor-a.example/log", seed("monitor-a log"))
WITNESS = CosignatureSigner("monitor-b.example/cosigner", seed("monitor-b cosigner"))
THIRD = CosignatureSigner("monitor-c.example/cosigner", seed("monitor-c cosigner"))
TREE = MerkleTree(numbered_leaves(5))
CHECKPOINT = Checkpoint("monitor-a.example/log", 5, TREE.root())
GOLDEN = DATA / "checkpoint_golden.txt"
T0 = 1_700_000_000


# --- the checkpoint text -----------------------------------------------------------------------


def test_go_sum_database_tree_note() -> None:
    """golang.org/x/mod/sumdb/tlog TestFormatTree / TestParseTree."""
    checkpoint = Checkpoint.parse(SPEC["go_sum_tree"])
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.size == 123456789012
    assert checkpoint.root_hash == leaf_hash(SPEC["go_sum_tree_leaf"].encode())
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC["go_sum_tree"]


def test_body_and_extensions() -> None:
    checkpoint = Checkpoint("o.example/log", 0, EMPTY_ROOT, ("ext one", "ext two"))
    assert checkpoint.body() == (
        "o.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\next two\n"
    )
    assert Checkpoint.parse(checkpoint.body().encode()) == checkpoint


origins = st.text(st.characters(exclude_categories=["Cs"], min_codepoint=0x20), min_size=1)
extension_lines = st.lists(origins, max_size=3).map(tuple)


@settings(max_examples=200, deadline=None)
@given(origins, st.integers(1, 2**63 - 1), st.binary(min_size=32, max_size=32), extension_lines)
def test_parse_format_round_trip(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    checkpoint = Checkpoint(origin, size, root, extensions)
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    assert Checkpoint.parse(checkpoint.body()).body() == checkpoint.body()


ROOT64 = base64.b64encode(TREE.root()).decode()
BAD_BODIES = {
    "no final newline": (f"log\n5\n{ROOT64}", "end with a newline"),
    "two lines": ("log\n5\n", "needs an origin, a tree size and a root hash"),
    "empty origin": (f"\n5\n{ROOT64}\n", "origin\\) is empty"),
    "leading zero": (f"log\n05\n{ROOT64}\n", "not a tree size"),
    "plus sign": (f"log\n+5\n{ROOT64}\n", "not a tree size"),
    "space": (f"log\n5 \n{ROOT64}\n", "not a tree size"),
    "underscore": (f"log\n1_000\n{ROOT64}\n", "not a tree size"),
    "hex": (f"log\n0xabcdef\n{ROOT64}\n", "not a tree size"),
    "arabic digits": (f"log\n\u0665\n{ROOT64}\n", "not a tree size"),
    "too large": (f"log\n{2**63}\n{ROOT64}\n", "too large"),
    "empty size": (f"log\n\n{ROOT64}\n", "not a tree size"),
    "short hash": (f"log\n5\n{base64.b64encode(bytes(31)).decode()}\n", "31 bytes"),
    "bad base64": ("log\n5\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n", "base64"),
    "hex root": (f"log\n5\n{TREE.root().hex()}\n", "48 bytes, not 32"),
    "empty extension": (f"log\n5\n{ROOT64}\n\n", "line 4 \\(extension\\) is empty"),
    "CR": (f"log\r\n5\n{ROOT64}\n", "U\\+000D"),
    "empty tree, other root": (f"log\n0\n{ROOT64}\n", "empty tree"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_malformed_checkpoints_are_refused(case: str) -> None:
    body, message = BAD_BODIES[case]
    with pytest.raises(InvalidInput, match=message):
        Checkpoint.parse(body)


def test_checkpoint_constructor_checks() -> None:
    with pytest.raises(InvalidInput, match="outside"):
        Checkpoint("log", -1, EMPTY_ROOT)
    with pytest.raises(InvalidInput, match="integer"):
        Checkpoint("log", True, EMPTY_ROOT)
    with pytest.raises(InvalidInput, match="control character"):
        Checkpoint("log\nforged", 1, EMPTY_ROOT)
    with pytest.raises(InvalidInput, match="not 32"):
        Checkpoint("log", 1, b"x")
    with pytest.raises(InvalidInput, match="not valid UTF-8"):
        Checkpoint.parse(b"\xfflog\n1\n" + ROOT64.encode() + b"\n")
    with pytest.raises(InvalidInput, match="larger than"):
        Checkpoint.parse("x" * 70_000 + f"\n1\n{ROOT64}\n")


# --- the log's signature -----------------------------------------------------------------------


def test_sign_and_open() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    signed = open_checkpoint(note, LOG.verifier())
    assert signed.checkpoint == CHECKPOINT
    assert signed.text == CHECKPOINT.body()
    assert signed.log_signature.name == LOG.name
    assert signed.cosignatures == ()
    # the checkpoint is a plain signed note too (as Go's note.Open would see it)
    assert open_note(note, [LOG.verifier()]).text == CHECKPOINT.body()


def test_open_checks_origin_and_log_key() -> None:
    other_log = Ed25519Signer("monitor-z.example/log", seed("z"))
    foreign = sign_checkpoint(Checkpoint("monitor-z.example/log", 5, TREE.root()), other_log)
    with pytest.raises(IntegrityError, match="no signature by a trusted key"):
        open_checkpoint(foreign, LOG.verifier())
    mislabelled = sign_checkpoint(Checkpoint("monitor-z.example/log", 5, TREE.root()), LOG)
    with pytest.raises(IntegrityError, match=re.escape("for log 'monitor-z.example/log'")):
        open_checkpoint(mislabelled, LOG.verifier())
    assert open_checkpoint(mislabelled, LOG.verifier(), origin="monitor-z.example/log")
    # a cosigner's signature alone is not the log's
    only_cosigned = sign_note(CHECKPOINT.body(), [WITNESS.at(T0)])
    with pytest.raises(IntegrityError, match="no signature by the log key"):
        open_checkpoint(only_cosigned, LOG.verifier(), [WITNESS.verifier()])


def test_not_a_checkpoint() -> None:
    note = sign_note("hello\n", [LOG])
    with pytest.raises(InvalidInput, match="1 line"):
        open_checkpoint(note, LOG.verifier())


def test_golden_signed_checkpoint() -> None:
    """Ed25519 is deterministic: the same key, tree and time give this exact file."""
    note = cosign(sign_checkpoint(CHECKPOINT, LOG), LOG.verifier(), WITNESS, T0)
    assert note == GOLDEN.read_text(encoding="utf-8")


def test_entry_proven_to_a_signed_checkpoint() -> None:
    signed = open_checkpoint(GOLDEN.read_text(encoding="utf-8"), LOG.verifier())
    tree = MerkleTree(numbered_leaves(5))
    verify_inclusion(
        tree.leaf(3),
        3,
        signed.checkpoint.size,
        tree.inclusion_proof(3),
        signed.checkpoint.root_hash,
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
def test_independent_check_of_the_golden_file() -> None:
    """tests/ledger/data/xcheck_checkpoint.js rebuilds key IDs, messages and root from the specs."""
    result = subprocess.run(
        [
            "node",
            str(DATA / "xcheck_checkpoint.js"),
            str(GOLDEN),
            LOG.verifier().vkey(),
            WITNESS.verifier().vkey(),
            *[str(i) for i in range(5)],
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok {T0}"


# --- cosignatures ------------------------------------------------------------------------------


def test_cosigner_keys() -> None:
    v = WITNESS.verifier()
    vkey = v.vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert CosignatureVerifier.from_vkey(vkey) == v
    # the same key and name as a plain Ed25519 key has another key ID
    plain = Ed25519Verifier(v.name, v.public_key)
    assert plain.key_id != v.key_id
    with pytest.raises(InvalidInput, match="not cosignature/v1"):
        CosignatureVerifier.from_vkey(plain.vkey())
    with pytest.raises(InvalidInput, match="not Ed25519"):
        Ed25519Verifier.from_vkey(vkey)
    assert "seed" not in repr(WITNESS) and f"{v.key_id:08x}" in repr(WITNESS)
    skey = WITNESS.skey()
    assert skey.startswith(f"PRIVATE+KEY+{WITNESS.name}+{v.key_id:08x}+")
    assert base64.b64decode(skey.split("+", 4)[4]) == b"\x04" + seed("monitor-b cosigner")
    assert CosignatureSigner.from_skey(skey).verifier() == v
    with pytest.raises(InvalidInput, match="not a type 0x04"):
        CosignatureSigner.from_skey(LOG.skey())
    with pytest.raises(InvalidInput, match="does not match its key"):
        CosignatureSigner.from_skey(skey.replace(f"{v.key_id:08x}", "00000000"))


def test_cosign_and_verify() -> None:
    note = cosign(sign_checkpoint(CHECKPOINT, LOG), LOG.verifier(), WITNESS, T0)
    note = cosign(note, LOG.verifier(), THIRD, T0 + 5)
    signed = open_checkpoint(
        note, LOG.verifier(), [WITNESS.verifier(), THIRD.verifier()], now_s=T0 + 10
    )
    assert [(c.name, c.time_s) for c in signed.cosignatures] == [
        (WITNESS.name, T0),
        (THIRD.name, T0 + 5),
    ]
    # cosigners not configured are kept, unverified
    partial = open_checkpoint(note, LOG.verifier(), [THIRD.verifier()])
    assert [s.name for s in partial.unverified] == [WITNESS.name]
    # recosigning replaces the old cosignature, keeps the others in place
    again = cosign(note, LOG.verifier(), WITNESS, T0 + 60)
    names = [s.name for s in parse_note(again)[1]]
    assert names == [LOG.name, THIRD.name, WITNESS.name]
    assert open_checkpoint(again, LOG.verifier(), [WITNESS.verifier()]).cosignatures[0].time_s == (
        T0 + 60
    )


def test_cosignature_policy_checks() -> None:
    note = cosign(sign_checkpoint(CHECKPOINT, LOG), LOG.verifier(), WITNESS, T0)
    with pytest.raises(IntegrityError, match="after now"):
        open_checkpoint(note, LOG.verifier(), [WITNESS.verifier()], now_s=T0 - 1)
    with pytest.raises(IntegrityError, match=r"1 valid cosignature\(s\) .* 2 are required"):
        open_checkpoint(note, LOG.verifier(), [WITNESS.verifier()], min_cosignatures=2)


def test_cosign_refuses_a_checkpoint_the_log_did_not_sign() -> None:
    forged = sign_checkpoint(CHECKPOINT, Ed25519Signer(LOG.name, seed("forger")))
    with pytest.raises(IntegrityError):
        cosign(forged, LOG.verifier(), WITNESS, T0)


def test_tampered_cosignature_fails() -> None:
    note = cosign(sign_checkpoint(CHECKPOINT, LOG), LOG.verifier(), WITNESS, T0)
    text, sigs = parse_note(note)
    log_sig, cosig = sigs
    # the time changed: the signature no longer covers it
    later = Signature(cosig.name, cosig.key_id, (T0 + 1).to_bytes(8, "big") + cosig.signature[8:])
    tampered = text + "\n" + log_sig.line() + later.line()
    with pytest.raises(IntegrityError, match=re.escape(WITNESS.name)):
        open_checkpoint(tampered, LOG.verifier(), [WITNESS.verifier()])
    # a checkpoint changed after cosigning
    grown = Checkpoint(CHECKPOINT.origin, 6, MerkleTree(numbered_leaves(6)).root())
    moved = sign_note(grown.body(), [LOG], keep=[cosig])
    with pytest.raises(IntegrityError, match=re.escape(WITNESS.name)):
        open_checkpoint(moved, LOG.verifier(), [WITNESS.verifier()])


def test_signature_types_do_not_cross() -> None:
    """A plain Ed25519 signature is no cosignature and the reverse, even with the same key."""
    body = CHECKPOINT.body().encode()
    same_key = Ed25519Signer(WITNESS.name, seed("monitor-b cosigner"))
    assert not WITNESS.verifier().verify(body, same_key.sign(body))
    assert not same_key.verifier().verify(body, WITNESS.sign_at(body, T0))
    assert not WITNESS.verifier().verify(b"not\na checkpoint\n", WITNESS.sign_at(body, T0))


def test_cosignature_times() -> None:
    body = CHECKPOINT.body()
    assert WITNESS.verifier().verify(body.encode(), WITNESS.sign_at(body, MAX_TIMESTAMP))
    with pytest.raises(InvalidInput, match=re.escape("outside 0..2^63-1")):
        WITNESS.sign_at(body, MAX_TIMESTAMP + 1)
    with pytest.raises(InvalidInput, match="outside"):
        WITNESS.sign_at(body, -1)
    overflow = (2**63).to_bytes(8, "big") + bytes(64)
    assert not WITNESS.verifier().verify(body.encode(), overflow)
    assert not WITNESS.verifier().verify(body.encode(), bytes(71))


def test_spec_example_framing() -> None:
    """c2sp.org/tlog-cosignature's example: key ID, timestamp, and the signed message layout."""
    text, sigs = parse_note(SPEC["cosigned_example"])
    witness = sigs[1]
    assert f"{witness.key_id:08x}" == SPEC["cosigned_example_witness_key_id"]
    assert len(witness.signature) == 8 + 64
    time_s = int.from_bytes(witness.signature[:8], "big")
    assert time_s == SPEC["cosigned_example_time"]
    assert cosignature_message(text, time_s) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert Checkpoint.parse(text).size == 20852163


# --- a real Sigsum log and witness --------------------------------------------------------------


def test_sigsum_checkpoint_cosignature_and_inclusion() -> None:
    """sigsum-go's TestVerify data: log signature, witness cosignature/v1, inclusion proof."""
    s = load("sigsum_proof.json")
    log_key = ssh_ed25519_key(s["log_key"])
    witness_key = ssh_ed25519_key(s["witness_key"])
    assert hashlib.sha256(log_key).hexdigest() == s["log_key_hash"]
    assert hashlib.sha256(witness_key).hexdigest() == s["witness_key_hash"]
    origin = f"sigsum.org/v1/tree/{s['log_key_hash']}"
    root = bytes.fromhex(s["root_hash"])
    body = Checkpoint(origin, s["size"], root).body()

    log = Ed25519Verifier(origin, log_key)
    witness = CosignatureVerifier("witness.example.org/sigsum-test", witness_key)
    cosig = s["cosignature_time"].to_bytes(8, "big") + bytes.fromhex(s["cosignature"])
    note = (
        body
        + "\n"
        + Signature(log.name, log.key_id, bytes.fromhex(s["log_signature"])).line()
        + Signature(witness.name, witness.key_id, cosig).line()
    )
    signed = open_checkpoint(note, log, [witness], now_s=s["cosignature_time"], min_cosignatures=1)
    assert signed.cosignatures[0].time_s == 1683202758

    # the entry: a Sigsum leaf (checksum, signature, submitter key hash), proven to that root
    checksum = hashlib.sha256(s["message"].encode()).digest()
    assert checksum.hex()[:4] == s["short_checksum"]
    leaf = checksum + bytes.fromhex(s["leaf_signature"]) + bytes.fromhex(s["submitter_key_hash"])
    proof = [bytes.fromhex(h) for h in s["node_hashes"]]
    verify_inclusion(leaf_hash(leaf), s["leaf_index"], signed.checkpoint.size, proof, root)

    with pytest.raises(IntegrityError):
        open_checkpoint(note.replace("\n4\n", "\n5\n"), log, [witness])
