"""Signed notes: text signed by named Ed25519 keys, as https://c2sp.org/signed-note specifies.

The format is the one golang.org/x/mod/sumdb/note introduced for Go's checksum database and that
C2SP tlog-checkpoint logs and witnesses speak::

    <text, ending in a newline>
    <blank line>
    — <key name> <base64(4-byte key ID || signature)>
    ...

with an em dash (U+2014) and a space opening each signature line. The text a signature covers
includes its final newline, not the blank line. A key is named, and its 32-bit key ID is
``SHA-256(name || 0x0A || type || public key)[:4]``, type 0x01 for Ed25519. Keys travel as
"vkeys", ``<name>+<8 hex key ID>+<base64(type || public key)>``, and signing keys as
``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || 32-byte seed)>``.

This module is stricter than Go's reader in three ways, each refusing only notes that no correct
signer produces: base64 must be canonical, two signature lines from the same key (name and key
ID) refuse the note instead of being silently dropped, and notes are limited in size
(`MAX_NOTE_BYTES`) as well as in signatures (`MAX_SIGNATURES`, Go's 100; the spec asks for at
least 16).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, Self, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ceasewatch.errors import IntegrityError, InvalidInput

__all__ = [
    "ALG_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Ed25519Signer",
    "Ed25519Verifier",
    "OpenedNote",
    "Signature",
    "Signer",
    "Verifier",
    "VerifierKey",
    "check_key_name",
    "decode_base64",
    "decode_skey",
    "decode_vkey",
    "encode_skey",
    "encode_vkey",
    "key_id",
    "open_note",
    "parse_note",
    "sign_note",
]

ALG_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures."""

V = TypeVar("V", bound="NamedEd25519Key")

MAX_NOTE_BYTES = 1 << 20
"""Largest note `parse_note` accepts by default (1 MiB)."""

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (Go's limit)."""

_EM_DASH = "\u2014"
_SIG_PREFIX = _EM_DASH + " "
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def decode_base64(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): padded and canonical.

    Raises:
        InvalidInput: naming ``what`` when ``text`` is not such base64.
    """
    if not _BASE64.fullmatch(text) or len(text) % 4:
        raise InvalidInput(f"{what} is not standard padded base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise InvalidInput(f"{what} is not valid base64 ({exc})") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise InvalidInput(f"{what} is not canonical base64 (unused bits are set)")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def check_key_name(name: str) -> None:
    """Refuse a key name the signed-note format cannot carry.

    Names must be non-empty and contain no Unicode space, no plus sign and (so that they can
    appear in a note) no control character.
    """
    if not name:
        raise InvalidInput("key name is empty")
    for ch in name:
        if ch.isspace() or ch == "+" or ord(ch) < 0x20:
            raise InvalidInput(
                f"key name {name[:60]!r} contains {ch!r}: names may hold no space, "
                "plus sign or control character"
            )


def key_id(name: str, typed_key: bytes) -> int:
    """The 32-bit key ID: ``SHA-256(name || 0x0A || type || public key)[:4]``, big-endian.

    Args:
        name: the key name.
        typed_key: the signature type byte followed by the public key.
    """
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + typed_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A decoded vkey: who signs, with which algorithm and which public key."""

    name: str
    key_id: int
    alg: int
    public_key: bytes


def encode_vkey(name: str, alg: int, public_key: bytes) -> str:
    """``<name>+<hex key ID>+<base64(alg || public key)>``."""
    check_key_name(name)
    typed = bytes([alg]) + public_key
    return f"{name}+{key_id(name, typed):08x}+{_b64encode(typed)}"


def decode_vkey(vkey: str) -> VerifierKey:
    """Split and check a vkey; the key ID must be the one computed from name and key.

    Raises:
        InvalidInput: the vkey is malformed or its key ID does not match its key.
    """
    name, sep1, rest = vkey.partition("+")
    hex_id, sep2, key64 = rest.partition("+")
    if not sep1 or not sep2:
        raise InvalidInput(f"verifier key {vkey[:80]!r} is not <name>+<key id>+<base64 key>")
    check_key_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise InvalidInput(f"verifier key {name}: key ID {hex_id[:20]!r} is not 8 hex digits")
    typed = decode_base64(key64, f"verifier key {name}")
    if len(typed) < 2:
        raise InvalidInput(f"verifier key {name} has no key material")
    if int(hex_id, 16) != key_id(name, typed):
        raise InvalidInput(
            f"verifier key {name}: key ID {hex_id} is not the one of its key "
            f"({key_id(name, typed):08x}); the vkey was altered or mistyped"
        )
    return VerifierKey(name, int(hex_id, 16), typed[0], typed[1:])


def encode_skey(name: str, key_id: int, alg: int, seed: bytes) -> str:
    """``PRIVATE+KEY+<name>+<hex key ID>+<base64(alg || seed)>``. Keep it secret."""
    return f"PRIVATE+KEY+{name}+{key_id:08x}+{_b64encode(bytes([alg]) + seed)}"


def decode_skey(skey: str, alg: int) -> tuple[str, str, bytes]:
    """Split a PRIVATE+KEY string of signature type ``alg`` into name, hex key ID and seed.

    The caller derives the public key and checks the key ID. Errors never quote the key.
    """
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise InvalidInput("signer key is not PRIVATE+KEY+<name>+<key id>+<base64 key>")
    name, hex_id, key64 = parts[2], parts[3], parts[4]
    check_key_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise InvalidInput(f"signer key {name}: key ID is not 8 hex digits")
    try:
        typed = decode_base64(key64, "signer key")
    except InvalidInput:
        raise InvalidInput(f"signer key {name}: key is not canonical base64") from None
    if len(typed) != 33 or typed[0] != alg:
        raise InvalidInput(f"signer key {name} is not a type 0x{alg:02x} Ed25519 seed")
    return name, hex_id, typed[1:]


class Verifier(Protocol):
    """Checks signatures of one key, known by its name and key ID."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key ID) signs ``message``."""
        ...


class Signer(Protocol):
    """Signs note texts with one key."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes:
        """The signature bytes (without the key ID) over ``message``."""
        ...


class NamedEd25519Key:
    """An Ed25519 public key under a name, for one signature type (the key ID covers both).

    Subclasses set `ALG` (the signature type byte), `ROLE` and `KIND` (for messages) and
    define `verify`.
    """

    ALG: ClassVar[int]
    ROLE: ClassVar[str]
    KIND: ClassVar[str]
    __slots__ = ("_key", "_key_id", "_name", "_public")

    def __init__(self, name: str, public_key: bytes) -> None:
        check_key_name(name)
        if len(public_key) != 32:
            raise InvalidInput(f"Ed25519 public key of {name} is {len(public_key)} bytes, not 32")
        self._name = name
        self._public = bytes(public_key)
        try:
            self._key = Ed25519PublicKey.from_public_bytes(self._public)
        except ValueError:
            raise InvalidInput(f"{name}: not a valid Ed25519 public key") from None
        self._key_id = key_id(name, bytes([self.ALG]) + self._public)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse ``<name>+<hex key ID>+<base64(type byte || public key)>``."""
        decoded = decode_vkey(vkey)
        if decoded.alg != cls.ALG:
            raise InvalidInput(
                f"{cls.ROLE} {decoded.name} has signature type 0x{decoded.alg:02x}, "
                f"not {cls.KIND} (0x{cls.ALG:02x})"
            )
        return cls(decoded.name, decoded.public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public

    def vkey(self) -> str:
        """This key as a vkey string."""
        return encode_vkey(self._name, self.ALG, self._public)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (self._name, self._public) == (
            other._name,
            other._public,
        )

    def __hash__(self) -> int:
        return hash((self._name, self._public))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey()!r})"


class Ed25519Verifier(NamedEd25519Key):
    """A plain Ed25519 note verifier (signature type 0x01)."""

    ALG = ALG_ED25519
    ROLE = "verifier key"
    KIND = "Ed25519"
    __slots__ = ()

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class NamedEd25519Seed(Generic[V]):
    """An Ed25519 private key under a name, and its verifier `V`. Its repr never shows it.

    Subclasses set `ALG` and `ROLE` and build their verifier in `_verifier_for`.
    """

    ALG: ClassVar[int]
    ROLE: ClassVar[str]
    __slots__ = ("_key", "_seed", "_verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        if len(seed) != 32:
            raise InvalidInput(f"Ed25519 seed of {name} must be 32 bytes")
        self._seed = bytes(seed)
        self._key = Ed25519PrivateKey.from_private_bytes(self._seed)
        self._verifier: V = self._verifier_for(name, self._key.public_key().public_bytes_raw())

    @classmethod
    def _verifier_for(cls, name: str, public_key: bytes) -> V:
        raise NotImplementedError

    @classmethod
    def generate(cls, name: str) -> Self:
        """A new key from the operating system's randomness."""
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_skey(cls, skey: str) -> Self:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type byte || seed)>``.

        The key ID must match the public key derived from the seed. Errors never quote the key.
        """
        name, hex_id, seed = decode_skey(skey, cls.ALG)
        signer = cls(name, seed)
        if signer.key_id != int(hex_id, 16):
            raise InvalidInput(
                f"{cls.ROLE} {name}: key ID {hex_id} does not match its key; it was altered"
            )
        return signer

    def skey(self) -> str:
        """This key as a PRIVATE+KEY string. Keep it secret."""
        return encode_skey(self.name, self.key_id, self.ALG, self._seed)

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def verifier(self) -> V:
        """The matching verifier (its `vkey` is what other orgs configure)."""
        return self._verifier

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, key_id={self.key_id:08x})"


class Ed25519Signer(NamedEd25519Seed["Ed25519Verifier"]):
    """A plain Ed25519 note signer (signature type 0x01). Its repr never shows the key."""

    ALG = ALG_ED25519
    ROLE = "signer key"
    __slots__ = ()

    @classmethod
    def _verifier_for(cls, name: str, public_key: bytes) -> Ed25519Verifier:
        return Ed25519Verifier(name, public_key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line of a note.

    Attributes:
        name: the key name.
        key_id: the 32-bit key ID.
        signature: the signature bytes that follow the key ID.
    """

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """The signature line, newline included."""
        raw = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {_b64encode(raw)}\n"

    @property
    def key(self) -> str:
        """``name+keyid``, as messages name a key."""
        return f"{self.name}+{self.key_id:08x}"


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose signatures were checked.

    Attributes:
        text: the signed text, final newline included.
        verified: signatures by trusted keys, all valid, in note order.
        unverified: signatures by keys not trusted here, kept unchecked.
    """

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]

    @property
    def verified_names(self) -> tuple[str, ...]:
        """Names of the keys whose signatures verified."""
        return tuple(s.name for s in self.verified)


def _check_text(text: str, what: str) -> None:
    bad = _CONTROL.search(text)
    if bad:
        ch = bad.group()
        lineno = text.count("\n", 0, bad.start()) + 1
        hint = " (a carriage return: use LF line endings)" if ch == "\r" else ""
        raise InvalidInput(
            f"{what} line {lineno} holds control character U+{ord(ch):04X}{hint}; "
            "signed notes allow no control character but newline"
        )


def _to_text(note: str | bytes, max_bytes: int) -> str:
    if isinstance(note, str):
        try:
            raw = note.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("note holds characters that are not valid Unicode") from None
    else:
        raw = bytes(note)
    if len(raw) > max_bytes:
        raise InvalidInput(f"note is {len(raw)} bytes, more than the {max_bytes} allowed")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"note is not valid UTF-8 (byte {exc.start})") from None


def parse_note(
    note: str | bytes,
    *,
    max_bytes: int = MAX_NOTE_BYTES,
    max_signatures: int = MAX_SIGNATURES,
) -> tuple[str, tuple[Signature, ...]]:
    """Split a signed note into its text and signature lines, checking nothing cryptographic.

    Raises:
        InvalidInput: the note breaks the format (the message says where).
    """
    text = _to_text(note, max_bytes)
    _check_text(text, "note")
    split = text.rfind("\n\n")
    if split < 0:
        raise InvalidInput("note has no blank line between its text and its signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block:
        raise InvalidInput("note has no signature line after its blank line")
    if not block.endswith("\n"):
        raise InvalidInput("note's last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > max_signatures:
        raise InvalidInput(f"note has {len(lines)} signatures, more than {max_signatures}")
    first_line = body.count("\n") + 2
    seen: set[tuple[str, int]] = set()
    sigs: list[Signature] = []
    for offset, line in enumerate(lines):
        where = f"note line {first_line + offset}"
        if not line.startswith(_SIG_PREFIX):
            raise InvalidInput(
                f"{where} ({line[:40]!r}) is not a signature line: those start with an em dash "
                "(U+2014) and a space"
            )
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not b64:
            raise InvalidInput(f"{where}: signature line has no signature after the key name")
        check_key_name(name)
        raw = decode_base64(b64, f"{where}: signature of {name}")
        if len(raw) < 5:
            raise InvalidInput(f"{where}: signature of {name} is too short for a key ID and data")
        sig = Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])
        if (sig.name, sig.key_id) in seen:
            raise InvalidInput(f"{where}: a second signature by {sig.key}; a key signs only once")
        seen.add((sig.name, sig.key_id))
        sigs.append(sig)
    return body, tuple(sigs)


def open_note(
    note: str | bytes,
    verifiers: Iterable[Verifier],
    *,
    max_bytes: int = MAX_NOTE_BYTES,
    max_signatures: int = MAX_SIGNATURES,
) -> OpenedNote:
    """Parse a note and check every signature by a trusted key.

    Signatures by keys not in ``verifiers`` (another name, or the same name with another key
    ID) are kept in `OpenedNote.unverified`, unchecked, as the spec requires.

    Raises:
        InvalidInput: the note is malformed, or two different trusted keys share a name and ID.
        IntegrityError: a trusted key's signature does not verify, or no trusted key signed.
    """
    body, sigs = parse_note(note, max_bytes=max_bytes, max_signatures=max_signatures)
    known: dict[tuple[str, int], list[Verifier]] = {}
    for v in verifiers:
        bucket = known.setdefault((v.name, v.key_id), [])
        if v not in bucket:
            bucket.append(v)
    message = body.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for sig in sigs:
        candidates = known.get((sig.name, sig.key_id))
        if not candidates:
            unverified.append(sig)
            continue
        if len(candidates) > 1:
            raise InvalidInput(f"ambiguous key {sig.key}: two different trusted keys have it")
        if not candidates[0].verify(message, sig.signature):
            raise IntegrityError(
                f"signature by {sig.key} does not verify: the note's text was altered after "
                "signing, or the signature was not made by that key"
            )
        verified.append(sig)
    if not verified:
        raise IntegrityError(_no_trusted_signature(sigs, known))
    return OpenedNote(body, tuple(verified), tuple(unverified))


def _no_trusted_signature(
    sigs: Sequence[Signature], known: dict[tuple[str, int], list[Verifier]]
) -> str:
    signed_by = ", ".join(s.key for s in sigs)
    trusted = ", ".join(f"{name}+{kid:08x}" for name, kid in sorted(known)) or "none"
    message = f"note has no signature by a trusted key (signed by {signed_by}; trusted: {trusted})"
    trusted_ids = {name: kid for name, kid in known}
    for s in sigs:
        if s.name in trusted_ids:
            message += (
                f"; the signature named {s.name} has key ID {s.key_id:08x}, the trusted key "
                f"{trusted_ids[s.name]:08x}: a different key"
            )
    return message


def sign_note(
    text: str,
    signers: Sequence[Signer],
    *,
    keep: Sequence[Signature] = (),
) -> str:
    """Sign ``text`` with every signer and return the note.

    Args:
        text: the text to sign; it must end with a newline and hold no control character
            but newlines.
        signers: the keys to sign with.
        keep: signatures already on the note (e.g. `OpenedNote.verified` and ``unverified``)
            to carry over, before the new ones; one from a key that signs again is replaced.

    Raises:
        InvalidInput: the text or a signer's name cannot be carried by a note, or the note
            would be refused by `open_note`'s default limits.
    """
    if not text.endswith("\n"):
        raise InvalidInput("a note's text must end with a newline")
    _check_text(text, "text")
    message = _to_text(text, MAX_NOTE_BYTES).encode("utf-8")
    fresh: list[Signature] = []
    for signer in signers:
        check_key_name(signer.name)
        if any((s.name, s.key_id) == (signer.name, signer.key_id) for s in fresh):
            raise InvalidInput(f"key {signer.name}+{signer.key_id:08x} is given twice")
        fresh.append(Signature(signer.name, signer.key_id, signer.sign(message)))
    new_keys = {(s.name, s.key_id) for s in fresh}
    kept: list[Signature] = []
    for s in keep:
        check_key_name(s.name)
        if not s.signature:
            raise InvalidInput(f"kept signature by {s.key} has no signature bytes")
        if (s.name, s.key_id) not in new_keys and all(
            (k.name, k.key_id) != (s.name, s.key_id) for k in kept
        ):
            kept.append(s)
    lines = kept + fresh
    if not lines:
        raise InvalidInput("a note needs at least one signature")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidInput(f"{len(lines)} signatures are more than a note may carry")
    note = text + "\n" + "".join(s.line() for s in lines)
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise InvalidInput(f"the signed note would exceed {MAX_NOTE_BYTES} bytes")
    return note
