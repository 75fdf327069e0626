"""Test vectors (tests/ledger/data, each file naming its source) and fixed test keys."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


def load(name: str) -> dict[str, Any]:
    """A vector file of tests/ledger/data."""
    value: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return value


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def ssh_ed25519_key(line: str) -> bytes:
    """The 32-byte key of an OpenSSH 'ssh-ed25519 AAAA...' public key line."""
    blob = base64.b64decode(line.split()[1])
    assert blob[:15] == b"\x00\x00\x00\x0bssh-ed25519" and len(blob) == 19 + 32
    return blob[-32:]


def seed(label: str) -> bytes:
    """A fixed Ed25519 seed for tests (never a real key)."""
    return hashlib.sha256(b"ceasewatch test key: " + label.encode()).digest()


def numbered_leaves(n: int) -> list[bytes]:
    """Leaf hashes of entries "0", "1", ... as RFC 9162 hashes them."""
    return [hashlib.sha256(b"\x00" + str(i).encode()).digest() for i in range(n)]
