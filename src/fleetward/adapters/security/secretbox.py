"""Secrets that must be read back (webhook secrets for HMAC, RMM API credentials)
are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from fleetward.adapters.private_files import make_private_dir


class FernetSecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError(
                "a stored secret cannot be decrypted: FLEETWARD_SECRET_KEY differs from the one "
                "it was sealed with"
            ) from None


def load_or_create_key(configured: str, data_dir: Path) -> bytes:
    """The configured key, else one kept in the data directory (created once, mode 0600).

    Several API nodes sharing one PostgreSQL database must share the key, so
    they set FLEETWARD_SECRET_KEY; a single node can rely on the file.
    """
    if configured:
        return configured.encode("ascii")
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    make_private_dir(data_dir)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
