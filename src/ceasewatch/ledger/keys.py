"""The org's signing key on disk: created once, readable by its owner only, never printed.

The key is a signed-note ``PRIVATE+KEY+<name>+<key id>+<base64>`` line (as Go's
``note.NewSigner`` reads), named after the log origin so that the checkpoints it signs carry the
origin both as their first line and as their signer's name. The file is created with mode 0600
(``O_EXCL``: an existing key is never overwritten) and refused when group or others may read it,
as OpenSSH refuses such a private key.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ceasewatch.errors import AccessDenied, Conflict, InvalidInput, NotFound
from ceasewatch.ledger.note import Ed25519Signer

__all__ = ["create_key", "key_path", "load_key"]


def key_path(keys_dir: Path, org: str) -> Path:
    """Where an org's key lives: ``<keys dir>/<org>.skey``."""
    return Path(keys_dir) / f"{org}.skey"


def create_key(path: Path, name: str) -> Ed25519Signer:
    """Generate an Ed25519 note key named ``name`` and write it to ``path`` with mode 0600.

    Raises:
        Conflict: a file is already there (a key is never replaced silently).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    signer = Ed25519Signer.generate(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"{path} already exists; a key is never overwritten") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        os.fchmod(fh.fileno(), 0o600)  # whatever the umask
        fh.write(signer.skey() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return signer


def load_key(path: Path, name: str | None = None) -> Ed25519Signer:
    """Read a key file; refuse one that group or others can read or write.

    Args:
        path: the ``.skey`` file.
        name: the key name it must carry (the log origin), if known.

    Raises:
        NotFound: no such file.
        AccessDenied: the file's mode lets group or others in (fix: ``chmod 600``).
        InvalidInput: the file is not a signer key (its content is never quoted).
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NotFound(f"no key at {path}; create the node with `ceasewatch node init`") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AccessDenied(
            f"{path} has mode {stat.S_IMODE(mode):04o}: group or others may read it; "
            f"run `chmod 600 {path}` (and check who read it)"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        signer = Ed25519Signer.from_skey(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{path} is not a ceasewatch key: {exc.message}") from None
    if name is not None and signer.name != name:
        raise InvalidInput(f"{path} is the key of {signer.name!r}, not of {name!r}")
    return signer
