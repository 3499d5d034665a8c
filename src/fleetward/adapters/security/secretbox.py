"""Secrets that must be read back (webhook secrets for HMAC, RMM API credentials)
are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Several keys may be in force at once so the key can be rotated without a
moment where stored secrets cannot be read: the first key seals, every key
opens, and `reseal` moves a stored secret onto the first key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from fleetward.adapters.private_files import make_private_dir

_UNREADABLE = (
    "a stored secret cannot be decrypted: none of the keys in FLEETWARD_SECRET_KEY is the "
    "one it was sealed with"
)


class FernetSecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError(_UNREADABLE) from None

    def reseal(self, token: str) -> str:
        """The same secret sealed with the first key (unchanged if it already is)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ValueError(_UNREADABLE) from None


def parse_keys(configured: str) -> list[bytes]:
    """FLEETWARD_SECRET_KEY: one Fernet key, or several separated by commas (newest first)."""
    return [part.strip().encode("ascii") for part in configured.split(",") if part.strip()]


def load_or_create_keys(configured: str, data_dir: Path) -> list[bytes]:
    """The configured keys, else one kept in the data directory (created once, mode 0600).

    Several API nodes sharing one PostgreSQL database must share the keys, so
    they set FLEETWARD_SECRET_KEY; a single node can rely on the file.
    """
    if keys := parse_keys(configured):
        return keys
    path = data_dir / "secret.key"
    if path.exists():
        return [path.read_bytes().strip()]
    make_private_dir(data_dir)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return [key]
