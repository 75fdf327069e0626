"""Checkpoints of an org's log (C2SP tlog-checkpoint) and other orgs' cosignatures of them.

A checkpoint is a signed note (`ceasewatch.ledger.note`) whose text is exactly, per
https://c2sp.org/tlog-checkpoint::

    <origin: the log's unique name>
    <tree size, decimal, no leading zeros>
    <base64 of the RFC 9162 root hash at that size>
    <optional non-empty extension lines>

The org signs it with its Ed25519 log key (type 0x01), whose name should be the origin; this is
what Certificate Transparency's tiled logs, Go's checksum database and Sigsum publish.

The other monitors *cosign* a checkpoint after checking that it extends what they saw before
(https://c2sp.org/tlog-cosignature, Ed25519 "cosignature/v1", signature type 0x04). A
cosignature line is ``— <cosigner name> base64(key ID || u64 big-endian time || Ed25519 sig)``
and the Ed25519 signature covers::

    cosignature/v1
    time <the same time, decimal seconds since the Unix epoch>
    <the whole checkpoint text>

The key ID is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``. The time is always passed in
by the caller: nothing here reads a clock. Checking consistency before cosigning (with
`ceasewatch.ledger.merkle.verify_consistency` against the last checkpoint seen) is the
cosigner's job, not this module's.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger.merkle import EMPTY_ROOT, HASH_SIZE
from ceasewatch.ledger.note import (
    NamedEd25519Key,
    NamedEd25519Seed,
    Signature,
    Signer,
    Verifier,
    decode_base64,
    open_note,
    parse_note,
    sign_note,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "MAX_CHECKPOINT_BYTES",
    "MAX_TIMESTAMP",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "Cosignature",
    "CosignatureSigner",
    "CosignatureVerifier",
    "SignedCheckpoint",
    "cosign",
    "cosignature_message",
    "open_checkpoint",
    "sign_checkpoint",
]

ALG_COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures (cosignature/v1)."""

MAX_TIMESTAMP = 2**63 - 1
"""Largest cosignature time the spec allows."""

MAX_TREE_SIZE = 2**63 - 1
"""Largest tree size a checkpoint may state (as Go's int64 sizes)."""

MAX_CHECKPOINT_BYTES = 64 * 1024
"""Largest signed checkpoint `open_checkpoint` reads (room for ~400 cosignatures)."""

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_BAD_LINE_CHAR = re.compile(r"[\x00-\x1f]")
_COSIG_HEADER = b"cosignature/v1\ntime %d\n"


def _check_line(value: str, what: str) -> None:
    if not value:
        raise InvalidInput(f"checkpoint {what} is empty")
    bad = _BAD_LINE_CHAR.search(value)
    if bad:
        raise InvalidInput(
            f"checkpoint {what} holds control character U+{ord(bad.group()):04X}; "
            "a checkpoint line is one line of text"
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log's origin, a tree size and the root hash at that size.

    Attributes:
        origin: the log's unique name (the org log key's name).
        size: number of entries the root covers.
        root_hash: the RFC 9162 root hash of those entries (32 bytes).
        extensions: extra lines, opaque and discouraged by the spec; empty for ceasewatch logs.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise InvalidInput(f"checkpoint size must be an integer, not {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidInput(f"checkpoint size {self.size} is outside 0..2^63-1")
        if len(self.root_hash) != HASH_SIZE:
            raise InvalidInput(f"checkpoint root hash is {len(self.root_hash)} bytes, not 32")
        object.__setattr__(self, "root_hash", bytes(self.root_hash))
        if self.size == 0 and self.root_hash != EMPTY_ROOT:
            raise InvalidInput("an empty tree's root hash is SHA-256 of the empty string")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for i, line in enumerate(self.extensions):
            _check_line(line, f"extension line {i + 1}")

    def body(self) -> str:
        """The note text: origin, size, base64 root hash and extensions, each ending in newline."""
        root64 = _b64(self.root_hash)
        lines = [self.origin, str(self.size), root64, *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str | bytes) -> Checkpoint:
        """Read a checkpoint text strictly (the inverse of `body`).

        Raises:
            InvalidInput: the text is not a checkpoint; the message names the line.
        """
        if isinstance(body, bytes):
            if len(body) > MAX_CHECKPOINT_BYTES:
                raise InvalidInput(f"checkpoint is larger than {MAX_CHECKPOINT_BYTES} bytes")
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"checkpoint is not valid UTF-8 (byte {exc.start})") from None
        if len(body) > MAX_CHECKPOINT_BYTES:
            raise InvalidInput(f"checkpoint is larger than {MAX_CHECKPOINT_BYTES} bytes")
        if not body.endswith("\n"):
            raise InvalidInput("checkpoint text must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidInput(
                f"checkpoint has {len(lines)} line(s); it needs an origin, a tree size and a "
                "root hash"
            )
        origin, size_text, root_text, *extensions = lines
        _check_line(origin, "line 1 (origin)")
        if not _DECIMAL.fullmatch(size_text):
            raise InvalidInput(
                f"checkpoint line 2 {size_text[:30]!r} is not a tree size: ASCII decimal "
                "digits without leading zeros"
            )
        if len(size_text) > 19 or int(size_text) > MAX_TREE_SIZE:
            raise InvalidInput(f"checkpoint line 2: tree size {size_text[:30]} is too large")
        root_hash = decode_base64(root_text, "checkpoint line 3 (root hash)")
        if len(root_hash) != HASH_SIZE:
            raise InvalidInput(f"checkpoint line 3: root hash is {len(root_hash)} bytes, not 32")
        for i, line in enumerate(extensions, start=4):
            _check_line(line, f"line {i} (extension)")
        return cls(origin, int(size_text), root_hash, tuple(extensions))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def cosignature_message(body: str | bytes, time_s: int) -> bytes:
    """The bytes a cosignature/v1 signs: header, time line, then the checkpoint text."""
    if not 0 <= time_s <= MAX_TIMESTAMP:
        raise InvalidInput(f"cosignature time {time_s} is outside 0..2^63-1")
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return _COSIG_HEADER % time_s + raw


class CosignatureVerifier(NamedEd25519Key):
    """Checks one cosigner's cosignature/v1 signatures (signature type 0x04)."""

    ALG = ALG_COSIGNATURE_V1
    ROLE = "cosigner key"
    KIND = "cosignature/v1"
    __slots__ = ()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (time || Ed25519 signature) cosigns the checkpoint ``message``."""
        if len(signature) != 8 + 64:
            return False
        time_s = int.from_bytes(signature[:8], "big")
        if time_s > MAX_TIMESTAMP:
            return False
        try:
            Checkpoint.parse(message)
        except InvalidInput:
            return False
        try:
            self._key.verify(signature[8:], cosignature_message(message, time_s))
        except InvalidSignature:
            return False
        return True


class CosignatureSigner(NamedEd25519Seed[CosignatureVerifier]):
    """A cosigner's Ed25519 key (cosignature/v1, type 0x04). Its repr never shows the key."""

    ALG = ALG_COSIGNATURE_V1
    ROLE = "cosigner key"
    __slots__ = ()

    @classmethod
    def _verifier_for(cls, name: str, public_key: bytes) -> CosignatureVerifier:
        return CosignatureVerifier(name, public_key)

    def sign_at(self, body: str | bytes, time_s: int) -> bytes:
        """The cosignature bytes (time || signature) over checkpoint text ``body`` at ``time_s``."""
        Checkpoint.parse(body)
        signature = self._key.sign(cosignature_message(body, time_s))
        return time_s.to_bytes(8, "big") + signature

    def at(self, time_s: int) -> Signer:
        """A note `Signer` that cosigns at the fixed time ``time_s`` (for `sign_note`)."""
        return _TimedCosigner(self, time_s)


@dataclass(frozen=True, slots=True)
class _TimedCosigner:
    cosigner: CosignatureSigner
    time_s: int

    @property
    def name(self) -> str:
        return self.cosigner.name

    @property
    def key_id(self) -> int:
        return self.cosigner.key_id

    def sign(self, message: bytes) -> bytes:
        return self.cosigner.sign_at(message, self.time_s)


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: who cosigned, and when they say they did."""

    name: str
    key_id: int
    time_s: int


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose log signature (and any known cosignatures) verified.

    Attributes:
        checkpoint: the parsed checkpoint.
        text: its note text, exactly as signed.
        log_signature: the log's signature line.
        cosignatures: verified cosignatures, in note order.
        unverified: signature lines by keys not given to `open_checkpoint`, unchecked.
    """

    checkpoint: Checkpoint
    text: str
    log_signature: Signature
    cosignatures: tuple[Cosignature, ...]
    unverified: tuple[Signature, ...]


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a note signed by the log's key."""
    return sign_note(checkpoint.body(), [signer])


def open_checkpoint(
    note: str | bytes,
    log: Verifier,
    cosigners: Iterable[CosignatureVerifier] = (),
    *,
    origin: str | None = None,
    now_s: int | None = None,
    min_cosignatures: int = 0,
) -> SignedCheckpoint:
    """Verify a signed checkpoint: the log's signature, its text, and known cosignatures.

    Args:
        note: the signed checkpoint.
        log: the log's verifier; its signature is required.
        cosigners: cosigners whose signatures are checked when present.
        origin: the origin the checkpoint must carry; the log key's name if None.
        now_s: if given, cosignatures timestamped after it are refused.
        min_cosignatures: how many verified cosignatures are required.

    Raises:
        InvalidInput: the note or its text is malformed.
        IntegrityError: a signature fails, the log's is missing, the origin is another log's,
            a cosignature is from the future, or too few cosigners signed.
    """
    cosigner_list = list(cosigners)
    opened = open_note(note, [log, *cosigner_list], max_bytes=MAX_CHECKPOINT_BYTES)
    checkpoint = Checkpoint.parse(opened.text)
    expected = log.name if origin is None else origin
    if checkpoint.origin != expected:
        raise IntegrityError(
            f"checkpoint is for log {checkpoint.origin!r}, not {expected!r}: "
            "a signed tree head of another log"
        )
    log_sigs = [s for s in opened.verified if (s.name, s.key_id) == (log.name, log.key_id)]
    if not log_sigs:
        raise IntegrityError(f"checkpoint has no signature by the log key {log.name}")
    cosigs: list[Cosignature] = []
    for sig in opened.verified:
        if sig is log_sigs[0]:
            continue
        time_s = int.from_bytes(sig.signature[:8], "big")
        if now_s is not None and time_s > now_s:
            raise IntegrityError(f"cosignature by {sig.key} is dated {time_s}, after now ({now_s})")
        cosigs.append(Cosignature(sig.name, sig.key_id, time_s))
    if len(cosigs) < min_cosignatures:
        raise IntegrityError(
            f"checkpoint has {len(cosigs)} valid cosignature(s) from the given cosigners, "
            f"{min_cosignatures} are required"
        )
    return SignedCheckpoint(checkpoint, opened.text, log_sigs[0], tuple(cosigs), opened.unverified)


def cosign(
    note: str | bytes,
    log: Verifier,
    cosigner: CosignatureSigner,
    time_s: int,
    *,
    origin: str | None = None,
) -> str:
    """Add ``cosigner``'s cosignature at ``time_s`` to a checkpoint signed by ``log``.

    The log's signature is verified first; every signature line already there is kept, in
    order, except an earlier one by this cosigner, which the new one replaces. Check that the
    checkpoint extends the last one you cosigned before calling this.
    """
    open_checkpoint(note, log, origin=origin)
    text, existing = parse_note(note, max_bytes=MAX_CHECKPOINT_BYTES)
    return sign_note(text, [cosigner.at(time_s)], keep=existing)
