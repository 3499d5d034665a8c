"""Request dependencies: the container, and who is calling."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fleetward.bootstrap import Container
from fleetward.domain.errors import Forbidden, Unauthenticated
from fleetward.domain.forwarding import TrustedProxies
from fleetward.domain.identity import Principal
from fleetward.domain.tokens import same_secret
from fleetward.services.identity import SessionInfo

SESSION_COOKIE = "fw_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer fwk_...`")


def container_of(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


async def container(request: Request) -> Container:
    # async on purpose: FastAPI runs a plain `def` dependency in the thread pool,
    # a hop that costs more than this whole function.
    return container_of(request)


ContainerDep = Annotated[Container, Depends(container)]


@functools.lru_cache(maxsize=4)
def _trusted_proxies(setting: str) -> TrustedProxies:
    return TrustedProxies.parse(setting)


def client_address(request: Request, c: Container) -> str:
    """Where the request came from: the connecting address, or what the trusted proxies
    of FLEETWARD_FORWARDED_ALLOW_IPS say it was. Decided here as well as by `fleetward
    serve`'s uvicorn, so it holds under any server (the rule gives the same answer
    when applied twice)."""
    peer = request.client.host if request.client else "unknown"
    forwarded_for = request.headers.getlist("x-forwarded-for")
    return _trusted_proxies(c.settings.forwarded_allow_ips).client_address(peer, forwarded_for)


def session_of(request: Request, c: Container) -> SessionInfo | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return c.identity.authenticate_session(token)
    except Unauthenticated:
        return None


def check_csrf(request: Request, session: SessionInfo, form_token: str | None = None) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    given = form_token or request.headers.get(CSRF_HEADER, "")
    if not given or not same_secret(given, session.csrf_token):
        raise Forbidden("missing or wrong CSRF token", field="csrf_token")


def principal(
    request: Request,
    c: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """An API key (Bearer) or a browser session; 401 without either."""
    if credentials is not None:
        return c.identity.authenticate_api_key(credentials.credentials)
    session = session_of(request, c)
    if session is None:
        raise Unauthenticated("authentication required: send an API key as Bearer token")
    check_csrf(request, session)
    return session.principal


PrincipalDep = Annotated[Principal, Depends(principal)]
