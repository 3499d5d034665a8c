from __future__ import annotations

from tests.conftest import FAST_PASSWORDS


def test_argon2_round_trip_and_wrong_password() -> None:
    digest = FAST_PASSWORDS.hash("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert "correct horse" not in digest
    assert FAST_PASSWORDS.verify(digest, "correct horse battery")
    assert not FAST_PASSWORDS.verify(digest, "wrong horse battery")


def test_unknown_user_never_verifies() -> None:
    # The dummy hash equalises timing; it must never let anyone in.
    assert not FAST_PASSWORDS.verify(None, "fleetward-timing-equaliser")
    assert not FAST_PASSWORDS.verify("not a hash", "anything")
