"""Password hashing with argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verifying against this when no user matches keeps the time of a
        # failed login the same whether or not the address exists.
        self._dummy_hash = self._hasher.hash("fleetward-timing-equaliser")

    def hash(self, password: str) -> str:
        return str(self._hasher.hash(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash or self._dummy_hash, password)) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False
