"""Signed notes: golang.org/x/mod/sumdb/note's vectors, key manglings, hostile notes."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasewatch.errors import IntegrityError, InvalidInput
from ceasewatch.ledger.note import (
    MAX_NOTE_BYTES,
    Ed25519Signer,
    Ed25519Verifier,
    Signature,
    decode_vkey,
    encode_vkey,
    key_id,
    open_note,
    parse_note,
    sign_note,
)
from tests.ledger.common import load, seed

GO = load("go_note_vectors.json")
PETER = Ed25519Verifier.from_vkey(GO["peter_vkey"])
ENOCH = Ed25519Verifier.from_vkey(GO["enoch_vkey"])
TEXT: str = GO["text"]
PETER_SIG: str = GO["peter_sig"]
ENOCH_SIG: str = GO["enoch_sig"]


# --- keys --------------------------------------------------------------------------------------


def test_go_keys_parse_and_round_trip() -> None:
    signer = Ed25519Signer.from_skey(GO["peter_skey"])
    assert signer.name == PETER.name == "PeterNeumann"
    assert signer.key_id == PETER.key_id == 0xC74F20A3
    assert signer.verifier() == PETER
    assert signer.verifier().vkey() == GO["peter_vkey"]
    assert signer.skey() == GO["peter_skey"]
    assert ENOCH.key_id == 0xAF0CFE78
    assert key_id("PeterNeumann", b"\x01" + PETER.public_key) == 0xC74F20A3


def test_signer_repr_hides_the_key() -> None:
    signer = Ed25519Signer.from_skey(GO["peter_skey"])
    assert "AYEKF" not in repr(signer) and "c74f20a3" in repr(signer)


@pytest.mark.parametrize("key", ["vkey", "skey"])
def test_every_mangled_key_is_refused(key: str) -> None:
    """As Go's TestNewVerifier / TestNewSigner: every proper substring, every byte + 1."""
    text = GO[f"peter_{key}"]
    parse = Ed25519Verifier.from_vkey if key == "vkey" else Ed25519Signer.from_skey
    for i in range(len(text) + 1):
        for j in range(i + 1, len(text) + 1):
            if (i, j) != (0, len(text)):
                with pytest.raises(InvalidInput):
                    parse(text[i:j])
    for i in range(len(text)):
        mangled = text[:i] + chr(ord(text[i]) + 1) + text[i + 1 :]
        with pytest.raises(InvalidInput):
            parse(mangled)


@pytest.mark.parametrize("vkey", GO["bad_vkeys"])
def test_go_bad_vkeys(vkey: str) -> None:
    with pytest.raises(InvalidInput):
        Ed25519Verifier.from_vkey(vkey)


def test_vkey_errors_are_specific() -> None:
    good = GO["peter_vkey"]
    with pytest.raises(InvalidInput, match="not the one of its key"):
        Ed25519Verifier.from_vkey(good.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(InvalidInput, match="8 hex digits"):
        Ed25519Verifier.from_vkey(good.replace("c74f20a3", "c74f20a"))
    with pytest.raises(InvalidInput, match="contains ' '"):
        Ed25519Verifier.from_vkey(encode_vkey("a", 1, PETER.public_key).replace("a", "a b", 1))
    with pytest.raises(InvalidInput, match="signature type 0x04"):
        Ed25519Verifier.from_vkey(encode_vkey("w", 4, PETER.public_key))
    with pytest.raises(InvalidInput, match="is 31 bytes"):
        Ed25519Verifier.from_vkey(encode_vkey("w", 1, PETER.public_key[:31]))
    assert decode_vkey(good.replace("c74f20a3", "C74F20A3")).key_id == 0xC74F20A3


def test_secret_never_appears_in_skey_errors() -> None:
    secret = GO["peter_skey"].rsplit("+", 1)[1]
    for broken in (GO["peter_skey"] + "A", GO["peter_skey"].replace("c74f20a3", "c74f20a4")):
        with pytest.raises(InvalidInput) as info:
            Ed25519Signer.from_skey(broken)
        assert secret[:10] not in str(info.value)


@pytest.mark.parametrize("name", ["", "a+b", "a b", "tab\there", "nbsp\u00a0x", "line\u2028x"])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(InvalidInput):
        Ed25519Signer(name, seed("x"))


# --- signing and opening: Go's vectors ---------------------------------------------------------


def test_sign_matches_go() -> None:
    signer = Ed25519Signer.from_skey(GO["peter_skey"])
    assert sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG
    # an existing signature by the same key is replaced
    stale = Signature("PeterNeumann", 0xC74F20A3, b"BADSIGN")
    assert sign_note(TEXT, [signer], keep=[stale]) == TEXT + "\n" + PETER_SIG


def test_sign_refuses_bad_texts() -> None:
    signer = Ed25519Signer.from_skey(GO["peter_skey"])
    with pytest.raises(InvalidInput, match="end with a newline"):
        sign_note("abc", [signer])
    with pytest.raises(InvalidInput, match="U\\+000D"):
        sign_note("a\r\n", [signer])
    with pytest.raises(InvalidInput, match="at least one signature"):
        sign_note(TEXT, [])
    with pytest.raises(InvalidInput, match="given twice"):
        sign_note(TEXT, [signer, signer])
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        sign_note("\ud800\n", [signer])


def test_open_one_verified_one_not() -> None:
    opened = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [PETER])
    assert opened.text == TEXT
    assert opened.verified_names == ("PeterNeumann",)
    assert [s.key for s in opened.unverified] == ["EnochRoot+af0cfe78"]


def test_open_both_verified() -> None:
    opened = open_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(), [PETER, ENOCH])
    assert opened.verified_names == ("PeterNeumann", "EnochRoot")
    assert opened.unverified == ()


def test_open_without_trusted_keys_fails() -> None:
    with pytest.raises(IntegrityError, match="no signature by a trusted key"):
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


class Impostor:
    """A verifier with Enoch's name and key ID but not his key: only a corrupt key list has one."""

    name = "EnochRoot"
    key_id = 0xAF0CFE78

    def verify(self, message: bytes, signature: bytes) -> bool:
        return True


def test_duplicate_trusted_key_is_ambiguous_only_when_used() -> None:
    with pytest.raises(InvalidInput, match="ambiguous key EnochRoot\\+af0cfe78"):
        open_note(TEXT + "\n" + ENOCH_SIG, [ENOCH, PETER, Impostor()])
    open_note(TEXT + "\n" + PETER_SIG, [ENOCH, PETER, Impostor()])
    # the same key given twice is not ambiguous
    open_note(TEXT + "\n" + ENOCH_SIG, [ENOCH, ENOCH])


def test_too_many_signatures() -> None:
    sigs = [Ed25519Signer(f"k{i}", seed(str(i))) for i in range(101)]
    note = TEXT + "\n" + "".join(s.line() for s in _lines(sigs))
    with pytest.raises(InvalidInput, match="101 signatures, more than 100"):
        open_note(note, [sigs[0].verifier()])
    assert len(open_note(note, [sigs[0].verifier()], max_signatures=101).unverified) == 100


def _lines(signers: list[Ed25519Signer]) -> list[Signature]:
    return [Signature(s.name, s.key_id, s.sign(TEXT.encode())) for s in signers]


def test_invalid_signature_of_a_trusted_key() -> None:
    tampered = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(IntegrityError, match="signature by PeterNeumann\\+c74f20a3 does not"):
        open_note(TEXT + "\n" + tampered, [PETER])


def test_altered_text_fails() -> None:
    note = TEXT.replace("cryptography", "cryptograph") + "\n" + PETER_SIG
    with pytest.raises(IntegrityError, match="altered"):
        open_note(note, [PETER])


def test_same_name_other_key_id_is_not_trusted() -> None:
    raw = base64.b64decode(PETER_SIG.split()[2])
    other_id = Signature("PeterNeumann", 0x01020304, raw[4:]).line()
    with pytest.raises(IntegrityError, match="has key ID 01020304, the trusted key c74f20a3"):
        open_note(TEXT + "\n" + other_id, [PETER])


# --- malformed and hostile notes ---------------------------------------------------------------

BAD_NOTES = {
    # Go's badMsgs
    "no signature block": (TEXT, "no blank line"),
    "blank line only": (TEXT + "\n", "no signature line"),
    "unterminated signature": (TEXT + "\n" + PETER_SIG[:-1], "does not end with a newline"),
    "control char": ("\x01" + TEXT + "\n" + PETER_SIG, "U\\+0001"),
    "unexpected line": (TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "not a signature line"),
    "name with space": (
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        "not canonical|not standard|contains",
    ),
    # more hostility
    "missing blank line": (TEXT + PETER_SIG, "no blank line"),
    "CRLF": ((TEXT + "\n" + PETER_SIG).replace("\n", "\r\n"), "carriage return"),
    "hyphen not em dash": (TEXT + "\n" + PETER_SIG.replace("\u2014", "--"), "em dash"),
    "en dash": (TEXT + "\n" + PETER_SIG.replace("\u2014", "\u2013"), "em dash"),
    "bad base64": (TEXT + "\n" + PETER_SIG.replace("x08go", "x08g!"), "base64"),
    "unpadded base64": (TEXT + "\n" + PETER_SIG.replace("=\n", "\n"), "base64"),
    "non-canonical base64": (TEXT + "\n" + PETER_SIG.replace("M=\n", "N=\n"), "canonical"),
    "no signature bytes": (TEXT + "\n\u2014 PeterNeumann \n", "no signature after"),
    "no space": (TEXT + "\n\u2014 PeterNeumann\n", "no signature after"),
    "short signature": (TEXT + "\n\u2014 PeterNeumann AQIDBA==\n", "too short"),
    "plus in name": (TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"), "plus"),
    "duplicate signature": (TEXT + "\n" + PETER_SIG + PETER_SIG, "second signature"),
    "duplicate unknown signature": (TEXT + "\n" + ENOCH_SIG + PETER_SIG + ENOCH_SIG, "second"),
    "NUL byte": (TEXT.replace("you", "y\x00u", 1) + "\n" + PETER_SIG, "U\\+0000"),
    "tab": (TEXT.replace(" ", "\t", 1) + "\n" + PETER_SIG, "U\\+0009"),
}


@pytest.mark.parametrize("case", sorted(BAD_NOTES))
def test_malformed_notes_are_refused(case: str) -> None:
    note, message = BAD_NOTES[case]
    with pytest.raises(InvalidInput, match=message):
        open_note(note, [PETER, ENOCH])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), "not valid UTF-8 \\(byte 0\\)"),
        (b"caf\xc3" + (TEXT + "\n" + PETER_SIG).encode(), "not valid UTF-8"),
        ("\ud800" + TEXT + "\n" + PETER_SIG, "not valid Unicode"),
        (b"\xed\xa0\x80" + (TEXT + "\n" + PETER_SIG).encode(), "not valid UTF-8"),
    ],
)
def test_invalid_encodings_are_refused(note: str | bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        open_note(note, [PETER])


def test_huge_notes_are_refused_before_parsing() -> None:
    huge = "x" * MAX_NOTE_BYTES + TEXT + "\n" + PETER_SIG
    with pytest.raises(InvalidInput, match="more than the 1048576 allowed"):
        open_note(huge, [PETER])
    with pytest.raises(InvalidInput, match="more than the 100 allowed"):
        open_note(TEXT + "\n" + PETER_SIG, [PETER], max_bytes=100)


def test_text_may_hold_blank_lines() -> None:
    signer = Ed25519Signer("org.example/log", seed("log"))
    for text in ("a\n\nb\n", "Note\n\n", "\n", "\u00e9t\u00e9\n\n\n"):
        opened = open_note(sign_note(text, [signer]), [signer.verifier()])
        assert opened.text == text


def test_parse_note_keeps_everything_unverified() -> None:
    text, sigs = parse_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG)
    assert text == TEXT
    assert [s.line() for s in sigs] == [PETER_SIG, ENOCH_SIG]


def test_spec_example_parses_but_has_no_trusted_key() -> None:
    """The c2sp.org/signed-note example (its key is not published)."""
    spec = (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito"
        " sera.\n\n\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITL"
        "lC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    )
    text, sigs = parse_note(spec)
    assert text.endswith("sera.\n") and text.count("\n") == 4
    assert sigs[0].name == "quasimodo.example/salvatore" and len(sigs[0].signature) == 64
    with pytest.raises(IntegrityError):
        open_note(spec, [PETER])


# --- properties --------------------------------------------------------------------------------

SIGNER = Ed25519Signer("ceasewatch.example/log", seed("property"))
COSIGNER = Ed25519Signer("ceasewatch.example/other", seed("property 2"))
note_texts = st.text(
    st.characters(exclude_categories=["Cs"], min_codepoint=0x20) | st.just("\n"), max_size=200
).map(lambda t: t + "\n")


@settings(max_examples=200, deadline=None)
@given(note_texts)
def test_sign_then_open_round_trips(text: str) -> None:
    note = sign_note(text, [SIGNER, COSIGNER])
    opened = open_note(note, [SIGNER.verifier()])
    assert opened.text == text
    assert opened.verified_names == (SIGNER.name,)
    assert [s.name for s in opened.unverified] == [COSIGNER.name]


@settings(max_examples=300, deadline=None)
@given(note_texts, st.data())
def test_any_altered_bit_is_refused(text: str, data: st.DataObject) -> None:
    """Flip a bit anywhere in a signed note, text, blank line or signature: it is refused."""
    note = sign_note(text, [SIGNER]).encode()
    position = data.draw(st.integers(0, len(note) - 1), label="position")
    bit = data.draw(st.integers(0, 7), label="bit")
    changed = bytearray(note)
    changed[position] ^= 1 << bit
    with pytest.raises((InvalidInput, IntegrityError)):
        open_note(bytes(changed), [SIGNER.verifier()])
