"""Tenants, users, API keys, browser sessions and logging in."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetward.domain.audit import SYSTEM_CLI, Actor, snapshot
from fleetward.domain.display_time import known_zones, zone_or_none
from fleetward.domain.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthenticated
from fleetward.domain.identity import (
    Access,
    Principal,
    Role,
    normalize_email,
    validate_email,
    validate_password,
)
from fleetward.domain.ids import new_id
from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import NAME_MAX, ApiKey, Tenant, User, clean_name
from fleetward.domain.tokens import (
    API_KEY_PREFIX,
    display_prefix,
    hash_secret,
    new_secret,
)
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, PasswordHasher, Repositories, UnitOfWork
from fleetward.services.resources import ScopedResource

# Touching last_used_at on every request would make every API read a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionInfo:
    principal: Principal
    csrf_token: str
    time_zone: str = ""  # the person's profile setting; empty: their browser's


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    max_failures: int  # per account (e-mail address) in the window
    window: timedelta
    session_ttl: timedelta
    max_failures_per_address: int  # per client address, across accounts


# Expired login counters one failed login deletes: a bounded cost per request that
# still outpaces the rows failures can add (at most two each).
FORGET_AT_ONCE = 100
# Longer than any e-mail address (254) or IP address, shorter than the column (300).
_LONGEST_SUBJECT_VALUE = 254


def _storable(value: str) -> bool:
    """Short enough for any e-mail or IP address, and text both engines take: no NUL
    (PostgreSQL refuses it) and no lone surrogate (not encodable as UTF-8)."""
    if len(value) > _LONGEST_SUBJECT_VALUE or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _throttle_subject(kind: str, value: str) -> str:
    """The counter a login attempt is counted on: named by the value itself, or by its
    digest when the value could not be stored. The sender chooses both the e-mail and
    (through a trusted proxy) the address."""
    if _storable(value):
        return f"{kind}:{value}"
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}#{digest}"


@dataclass(frozen=True, slots=True)
class _SessionValues:
    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class IdentityService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        passwords: PasswordHasher,
        policy: LoginPolicy,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.passwords = passwords
        self.policy = policy
        self.users = ScopedResource(
            uow, clock, probes, "user", lambda r: r.users, Access.ADMIN, Access.ADMIN
        )
        self.keys = ScopedResource(uow, clock, probes, "api_key", lambda r: r.api_keys)
        # A person's own profile: any role may change it, only for themselves.
        self.profiles = ScopedResource(
            uow, clock, probes, "user", lambda r: r.users, Access.READ, Access.READ
        )

    # Tenants (created from the CLI; there is no cross-tenant superuser API)

    def create_tenant(self, name: str) -> Tenant:
        tenant = Tenant(new_id(), clean_name(name), self.clock())
        with self.uow.write() as repos:
            repos.tenants.add(tenant)
            record(
                repos,
                self.clock,
                tenant.id,
                SYSTEM_CLI,
                "tenant.create",
                "tenant",
                tenant.id,
                after=snapshot(tenant),
            )
        return tenant

    def tenant_by_name(self, name: str) -> Tenant:
        with self.uow.read() as repos:
            tenant = repos.tenants.by_name(name)
        if tenant is None:
            raise NotFound(f"no tenant named {name!r}", field="tenant")
        return tenant

    # Users

    def create_user(
        self,
        actor: Actor | Principal,
        tenant_id: uuid.UUID,
        email: str,
        role: Role,
        password: str,
        display_name: str = "",
    ) -> User:
        if isinstance(actor, Principal):
            actor.require(Access.ADMIN)
            tenant_id = actor.tenant_id
            actor = actor_of(actor)
        validate_password(password)
        now = self.clock()
        user = User(
            new_id(),
            tenant_id,
            validate_email(email),
            display_name.strip(),
            role,
            False,
            now,
            now,
        )
        password_hash = self.passwords.hash(password)
        with self.uow.write() as repos:
            repos.users.add(user, password_hash)
            record(
                repos,
                self.clock,
                tenant_id,
                actor,
                "user.create",
                "user",
                user.id,
                after=snapshot(user),
            )
        return user

    def update_user(
        self,
        principal: Principal,
        user_id: uuid.UUID,
        role: Role | None = None,
        display_name: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        principal.require(Access.ADMIN)
        if user_id == principal.user_id and (disabled or (role and role != Role.ADMIN)):
            raise Conflict(
                "you cannot demote or disable yourself; ask another admin",
                field="disabled" if disabled else "role",
            )
        changes: dict[str, object] = {}
        if role is not None:
            changes["role"] = role
        if display_name is not None:
            changes["display_name"] = display_name.strip()
        if disabled is not None:
            changes["disabled"] = disabled
        user = self.users.update(principal, user_id, changes)
        if password is not None:
            validate_password(password)
            password_hash = self.passwords.hash(password)
            with self.uow.write() as repos:
                repos.users.update(principal.tenant_id, user_id, password_hash=password_hash)
                record(
                    repos,
                    self.clock,
                    principal.tenant_id,
                    actor_of(principal),
                    "user.password_set",
                    "user",
                    user_id,
                )
        return user

    def delete_user(self, principal: Principal, user_id: uuid.UUID) -> None:
        principal.require(Access.ADMIN)
        if user_id == principal.user_id:
            raise Conflict("you cannot delete yourself; ask another admin", field="id")
        self.users.delete(principal, user_id)

    def list_users(self, principal: Principal, limit: int | None, cursor: str | None) -> Page[User]:
        return self.users.page(principal, limit, cursor)

    def colleagues(self, principal: Principal, limit: int) -> list[User]:
        """The tenant's people, for names on comments and assignee choices: any role may see
        who their colleagues are, only admins may manage them."""
        principal.require(Access.READ)
        with self.uow.read() as repos:
            return list(repos.users.page(principal.tenant_id, limit, None).items)

    def current_user(self, principal: Principal) -> User:
        """The caller's own record; needs no admin role."""
        with self.uow.read() as repos:
            user = repos.users.get(principal.tenant_id, principal.user_id)
        if user is None:
            raise Unauthenticated("your user no longer exists")
        return user

    def update_profile(
        self,
        principal: Principal,
        time_zone: str | None = None,
        display_name: str | None = None,
    ) -> User:
        """The caller's own settings: their time zone (an IANA name, or empty for the
        browser's) and the name colleagues see; no admin role needed."""
        changes: dict[str, object] = {}
        if time_zone is not None:
            changes["time_zone"] = profile_time_zone(time_zone)
        if display_name is not None:
            changes["display_name"] = profile_display_name(display_name)
        if not changes:
            return self.current_user(principal)
        return self.profiles.update(principal, principal.user_id, changes)

    def get_user(self, principal: Principal, user_id: uuid.UUID) -> User:
        return self.users.get(principal, user_id)

    def user_by_email(self, email: str) -> User:
        with self.uow.read() as repos:
            user = repos.users.by_email_any_tenant(normalize_email(email))
        if user is None:
            raise NotFound(f"no user with e-mail {email!r}", field="email")
        return user

    # API keys: a key acts as the user who made it, with that user's role.

    def create_api_key(self, actor: Actor | Principal, user: User, name: str) -> tuple[ApiKey, str]:
        if isinstance(actor, Principal):
            actor.require(Access.WRITE)
            actor = actor_of(actor)
        secret = new_secret(API_KEY_PREFIX)
        key = ApiKey(
            new_id(),
            user.tenant_id,
            user.id,
            clean_name(name),
            display_prefix(secret),
            self.clock(),
            None,
        )
        with self.uow.write() as repos:
            repos.api_keys.add(key, hash_secret(secret))
            record(
                repos,
                self.clock,
                user.tenant_id,
                actor,
                "api_key.create",
                "api_key",
                key.id,
                after=snapshot(key),
            )
        return key, secret

    def list_api_keys(
        self, principal: Principal, limit: int | None, cursor: str | None
    ) -> Page[ApiKey]:
        # Admins see every key of the tenant; others see their own.
        if principal.can(Access.ADMIN):
            return self.keys.page(principal, limit, cursor)
        return self.keys.page(principal, limit, cursor, user_id=principal.user_id)

    def delete_api_key(self, principal: Principal, key_id: uuid.UUID) -> None:
        if principal.can(Access.ADMIN):
            self.keys.delete(principal, key_id)
        else:
            self.keys.delete(principal, key_id, user_id=principal.user_id)

    def authenticate_api_key(self, secret: str) -> Principal:
        now = self.clock()
        with self.uow.read() as repos:
            key = repos.api_keys.by_hash(hash_secret(secret))
            user = None if key is None else repos.users.get(key.tenant_id, key.user_id)
        if key is None or user is None or user.disabled:
            raise Unauthenticated("invalid API key")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
            # Best effort: while writes fail, reads with an API key still answer.
            self.uow.try_write(
                lambda repos: repos.api_keys.update(key.tenant_id, key.id, last_used_at=now)
            )
        return Principal(user.tenant_id, user.id, user.email, user.role, api_key_id=key.id)

    # Logging in

    def login(self, email: str, password: str, remote_addr: str) -> tuple[User, NewSession]:
        """A session for the right password, within the limits on failed logins.

        The attempt is counted against the account and the client address before
        the password is checked, in one transaction with conditional increments,
        so a burst of concurrent guesses gets no more checks than the limit. A
        successful login gives its attempts back: only failures use them up.
        """
        now = self.clock()
        email = normalize_email(email)
        limits = (
            (_throttle_subject("account", email), self.policy.max_failures),
            (_throttle_subject("address", remote_addr), self.policy.max_failures_per_address),
        )
        expired = now - self.policy.window
        with self.uow.write() as repos:
            taken = []
            for subject, limit in limits:
                window_start = repos.login_throttle.take(subject, limit, now, expired)
                if window_start is None:  # raising rolls back what this attempt counted
                    raise RateLimited("too many failed logins; try again later")
                taken.append((subject, window_start))
            # No user has an e-mail address that could not be stored.
            found = repos.users.credentials(email) if _storable(email) else None
        user, password_hash = found if found else (None, None)
        # Verify even when no user matched, so timing does not reveal addresses; outside
        # the transaction, as argon2 is slow on purpose.
        ok = (
            self.passwords.verify(password_hash, password)
            and user is not None
            and not user.disabled
        )
        if not ok or user is None:
            with self.uow.write() as repos:
                repos.login_throttle.forget_expired(expired, FORGET_AT_ONCE)
            raise Unauthenticated("wrong e-mail address or password")
        with self.uow.write() as repos:
            for subject, window_start in taken:
                repos.login_throttle.give_back(subject, window_start)
            return user, self._add_session(repos, user, self.clock())

    def _add_session(self, repos: Repositories, user: User, now: datetime) -> NewSession:
        token = new_secret()
        session = _SessionValues(
            new_id(),
            user.tenant_id,
            user.id,
            secrets.token_urlsafe(32),
            now,
            now + self.policy.session_ttl,
        )
        repos.sessions.remove_expired(now)
        repos.sessions.add(session, hash_secret(token))
        return NewSession(token, session.csrf_token, session.expires_at)

    def authenticate_session(self, token: str) -> SessionInfo:
        with self.uow.read() as repos:
            session = repos.sessions.by_hash(hash_secret(token))
            user = None if session is None else repos.users.get(session.tenant_id, session.user_id)
        if session is None or user is None or user.disabled or session.expires_at <= self.clock():
            raise Unauthenticated("session expired; log in again")
        return SessionInfo(
            Principal(user.tenant_id, user.id, user.email, user.role),
            session.csrf_token,
            user.time_zone,
        )

    def logout(self, token: str) -> None:
        with self.uow.write() as repos:
            repos.sessions.remove(hash_secret(token))


def profile_time_zone(value: str) -> str:
    """An IANA zone name as the profile stores it; empty means the browser's."""
    name = value.strip()
    if name and (name not in known_zones() or zone_or_none(name) is None):
        raise InvalidInput(f"time_zone {name[:80]!r} is not a known time zone", field="time_zone")
    return name


def profile_display_name(value: str) -> str:
    name = " ".join(value.split())
    if len(name) > NAME_MAX:
        raise InvalidInput(
            f"display_name must be at most {NAME_MAX} characters", field="display_name"
        )
    return name


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"role must be one of {allowed}", field="role") from None
