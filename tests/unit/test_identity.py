from __future__ import annotations

import uuid

import pytest

from fleetward.domain.errors import Forbidden, InvalidInput
from fleetward.domain.identity import Access, Principal, Role, validate_email, validate_password
from fleetward.domain.tenancy import clean_name


def _as(role: Role) -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), "x@y.test", role)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, {Access.READ, Access.WRITE, Access.ADMIN}),
        (Role.OPERATOR, {Access.READ, Access.WRITE}),
        (Role.READONLY, {Access.READ}),
    ],
)
def test_role_grants(role: Role, allowed: set[Access]) -> None:
    who = _as(role)
    for access in Access:
        assert who.can(access) is (access in allowed)
        if access not in allowed:
            with pytest.raises(Forbidden):
                who.require(access)


def test_email_is_normalised_and_checked() -> None:
    assert validate_email("  Ops@Acme.Example ") == "ops@acme.example"
    for bad in ("", "no-at-sign", "a@nodot", "@x.y", "a b@c.d"):
        with pytest.raises(InvalidInput) as caught:
            validate_email(bad)
        assert caught.value.field == "email"


def test_password_length_rules() -> None:
    validate_password("x" * 10)
    for bad in ("short", "x" * 1025):
        with pytest.raises(InvalidInput):
            validate_password(bad)


def test_names_are_trimmed_and_must_say_something() -> None:
    assert clean_name("  Contoso \t Ltd ") == "Contoso Ltd"
    with pytest.raises(InvalidInput):
        clean_name("   ")
    with pytest.raises(InvalidInput):
        clean_name("x" * 201)
