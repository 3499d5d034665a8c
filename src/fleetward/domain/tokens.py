"""Generated secrets (API keys, session tokens): random, shown once, stored as sha256.

These are 256-bit random values, so a fast hash is enough; a slow password
hash would only cost time on every request.
"""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "fwk_"
PREFIX_SHOWN = 12


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:PREFIX_SHOWN]


def same_secret(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())
