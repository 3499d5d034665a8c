"""What admins do to an integration as a whole: enable or disable it, rename it, delete
it (after a confirmation page), from the integrations list and its page. The
agents' built-in integration is none of these (the service answers 409).

A disabled integration refuses its webhooks (WebhookService) until enabled again;
deleting one deletes its alerts, devices, mappings and dead letters with it, and
its webhook URL stops working at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.alerts import Provider
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.integrations import Integration
from fleetward.domain.tenancy import clean_name
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import crud
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    parse_id,
    redirect,
    render,
    safe_next,
)
from fleetward.services.identity import SessionInfo
from fleetward.services.integrations import BUILT_IN

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]


def _changeable(found: Integration) -> Integration:
    if found.provider is Provider.AGENT:
        raise Conflict(BUILT_IN)
    return found


def _managed(c: Container, session: SessionInfo, integration_id: str) -> Integration:
    """The caller's integration, if it is one people change (admins; not the built-in)."""
    session.principal.require(Access.ADMIN)
    return _changeable(
        c.integrations.get(session.principal, parse_id(integration_id, "integration"))
    )


@router.post("/integrations/{integration_id}/enabled")
def set_enabled(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    integration_id: str,
    enabled: TextForm = "",
    back: TextForm = "",
) -> Response:
    """`enabled` "true" or "false"; back to the list or the integration's page."""
    integration = _managed(c, session, integration_id)
    if enabled not in ("true", "false"):
        raise InvalidInput("enabled must be true or false", field="enabled")
    on = enabled == "true"
    c.integrations.update(session.principal, integration.id, None, on, None)
    target = safe_next(back) if back.startswith("/integrations") else "/integrations"
    done = "enabled" if on else "disabled: its webhooks are refused until it is enabled again"
    return redirect(request, target, flash=f"Integration “{integration.name}” {done}.")


def _edit_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    integration: Integration,
    name: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "integration_edit.html",
        session,
        422 if errors else 200,
        error="The integration was not saved: correct the fields marked below." if errors else None,
        integration=integration,
        form_name=integration.name if name is None else name,
        errors=errors or {},
    )


INTEGRATIONS: crud.Kind[Integration] = crud.Kind(
    path="/integrations",
    param="integration_id",
    noun="integration",
    label="Integration",
    access=Access.ADMIN,
    get=lambda c: lambda who, integration_id: _changeable(c.integrations.get(who, integration_id)),
    delete=lambda c: c.integrations.delete,
    name=lambda integration: integration.name,
    confirmation=crud.Confirmation(
        active="integrations",
        title="Delete",
        heading="Delete integration?",
        before="This deletes the integration ",
        after=(
            " with its alerts, devices, organisation mappings and dead letters; its webhook"
            " URL stops working at once. Tickets stay. To stop it for a while, disable it."
        ),
    ),
)


@router.post("/integrations/{integration_id}/edit")
def rename(
    request: Request, c: ContainerDep, session: FormSessionDep, integration_id: str, name: TextForm
) -> Response:
    integration = _managed(c, session, integration_id)
    errors: dict[str, str] = {}
    try:
        clean_name(name)
    except InvalidInput as exc:
        errors["name"] = exc.message

    def write(existing: Integration | None) -> Integration:
        assert existing is not None
        return c.integrations.update(session.principal, existing.id, name, None, None)

    def form_again(errors: dict[str, str]) -> Response:
        return _edit_page(request, c, session, integration, name, errors)

    return crud.save(request, INTEGRATIONS, integration, errors, write, form_again)


crud.add_edit_and_delete_routes(router, INTEGRATIONS, _edit_page)
