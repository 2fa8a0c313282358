"""The server's secret key and the keyed hashes made with it.

One secret signs the console's session cookies and keys the hashes of enrolment codes:
`CARELOOP_SECRET_KEY`, or else a key made once and kept in the data directory (readable
by its owner only). Changing it logs everyone out and voids codes not yet used.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from assistant.config import Settings, get_settings, private_dir


def secret_key(settings: Settings) -> str:
    """The configured key, else the one kept in the data directory (made on first use)."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    path = private_dir(Path(settings.data_dir)) / "secret_key"
    if not path.exists():
        # Written aside, then linked into place: of processes starting together, one
        # makes the key and every one reads that key, never a half-written file.
        draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it (everyone is logged out) or set "
                           "CARELOOP_SECRET_KEY")
    return key


def keyed_hash(text: str, *, purpose: str, settings: Settings | None = None) -> str:
    """HMAC-SHA256 of `text` with the server's key, in hex (64 characters). `purpose`
    keeps the hashes of different things apart."""
    key = secret_key(settings or get_settings()).encode()
    return hmac.new(key, f"{purpose}\0{text}".encode(), hashlib.sha256).hexdigest()
