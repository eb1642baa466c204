"""Pseudonyms for erased people: a keyed hash (HMAC-SHA-256), so the same author gets the
same pseudonym everywhere (threads still group) but nobody without the key can check a
guess ("is erased:3f… mastodon:mina_r?") by hashing it.

The key comes from ``BRANDGUARD_PSEUDONYM_KEY`` (hex or any text) or, when that is not set,
from ``<data_dir>/pseudonym.key`` (32 random bytes, created on first use, mode 0600).
Keep it out of backups of the store, or the pseudonyms of erased people can be tested.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "BRANDGUARD_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"


def pseudonym_key(data_dir: str | Path, environ: dict[str, str] | None = None) -> bytes:
    """The installation's pseudonymisation key (see the module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return env[KEY_ENV].encode()
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def pseudonym(key: bytes, value: str, length: int = 16) -> str:
    """A stable, keyed, non-reversible stand-in for ``value`` (hex, ``length`` chars)."""
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()[:length]
