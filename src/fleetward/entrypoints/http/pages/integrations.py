"""The integrations pages: list and create, then one integration's webhook,
secret rotation, API access (pages/integration_access.py), organisation
mappings, discovered devices and dead letters.

A secret is shown once, in the answer to the post that made it: it is not
stored readably anywhere, so there is nothing to redirect to.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.alerts import WEBHOOK_PROVIDERS, Provider
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.integrations import Integration
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.errors import STATUS
from fleetward.entrypoints.http.pages import integration_access, integration_sync, lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]
ListForm = Annotated[list[str], Form()]
DEAD_LETTERS_PER_PAGE = 20  # bodies may be large: a few at a time

PROVIDER_LABELS = {
    Provider.NINJAONE: "NinjaOne",
    Provider.TACTICALRMM: "Tactical RMM",
    Provider.ALERTMANAGER: "Prometheus Alertmanager",
    Provider.GENERIC: "Generic JSON",
    Provider.AGENT: "Fleetward agents (built in)",
}

# The web hook bodies to paste into Tactical RMM, exactly as docs/providers/tacticalrmm.md
# gives them (a test keeps the two equal).
TACTICAL_TRIGGER_BODY = """{
  "event": "trigger",
  "alert_id": "{{alert.id}}",
  "alert_time": "{{alert.alert_time}}",
  "alert_type": "{{alert.alert_type}}",
  "severity": "{{alert.severity}}",
  "message": "{{alert.message}}",
  "check_id": "{{alert.assigned_check.id}}",
  "check_type": "{{alert.assigned_check.check_type}}",
  "task_id": "{{alert.assigned_task.id}}",
  "agent_id": "{{agent.agent_id}}",
  "hostname": "{{agent.hostname}}",
  "monitoring_type": "{{agent.monitoring_type}}",
  "client": "{{client.name}}",
  "site": "{{site.name}}"
}"""
TACTICAL_RESOLVED_BODY = """{
  "event": "resolved",
  "alert_id": "{{alert.id}}",
  "alert_time": "{{alert.alert_time}}",
  "alert_type": "{{alert.alert_type}}",
  "severity": "{{alert.severity}}",
  "message": "{{alert.message}}",
  "check_id": "{{alert.assigned_check.id}}",
  "check_type": "{{alert.assigned_check.check_type}}",
  "task_id": "{{alert.assigned_task.id}}",
  "agent_id": "{{agent.agent_id}}",
  "hostname": "{{agent.hostname}}",
  "monitoring_type": "{{agent.monitoring_type}}",
  "client": "{{client.name}}",
  "site": "{{site.name}}",
  "resolved_on": "{{alert.resolved_on}}"
}"""


HEALTH_STATES = ("failing", "silent")


def _list_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    health: str = "",
) -> Response:
    who = session.principal
    clients = lookups.clients(c, who)
    shown = lookups.integrations(c, who)
    if health:  # the overview's failing or silent integrations (domain/overview.py)
        if health not in HEALTH_STATES:
            raise InvalidInput("health must be failing or silent", field="health")
        chosen = {i.id for i in c.overview.integration_health(who, health)}
        shown = [i for i in shown if i.id in chosen]
    return render(
        request,
        "integrations.html",
        session,
        status_code,
        error=error,
        integrations=shown,
        health=health,
        last_received=c.integrations.last_received(who, shown),
        providers=PROVIDER_LABELS,
        # The agent integration is built in: listed, never offered to create.
        creatable={p: label for p, label in PROVIDER_LABELS.items() if p in WEBHOOK_PROVIDERS},
        clients=clients,
        client_names=lookups.names(clients),
        form=form or {"provider": "", "name": "", "default_client_id": "", "client_label": ""},
    )


def _secret_page(
    request: Request, c: Container, session: SessionInfo, integration: Integration, secret: str
) -> Response:
    return render(
        request,
        "integration_secret.html",
        session,
        integration=integration,
        provider_label=PROVIDER_LABELS[integration.provider],
        secret=secret,
        webhook_url=lookups.webhook_url(request, c, integration.id),
        tactical=(TACTICAL_TRIGGER_BODY, TACTICAL_RESOLVED_BODY),
    )


@router.get("/integrations")
def list_integrations(
    request: Request, c: ContainerDep, session: SessionDep, health: str = ""
) -> Response:
    return _list_page(request, c, session, health=health)


@router.post("/integrations")
def create_integration(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    provider: TextForm = "",
    name: TextForm = "",
    default_client_id: TextForm = "",
    client_label: TextForm = "",
) -> Response:
    form = {
        "provider": provider,
        "name": name,
        "default_client_id": default_client_id,
        "client_label": client_label,
    }
    try:
        try:
            chosen = Provider(provider)
        except ValueError:
            raise InvalidInput("choose a provider", field="provider") from None
        settings: dict[str, Any] = {}
        if default_client_id:
            settings["default_client_id"] = default_client_id
        if client_label.strip():
            settings["client_label"] = lookups.printable(client_label.strip(), "client_label")
        integration, secret = c.integrations.create(
            session.principal, chosen, lookups.printable(name, "name"), settings
        )
    except (InvalidInput, Conflict) as exc:
        return _list_page(request, c, session, STATUS[type(exc)], exc.message, form)
    return _secret_page(request, c, session, integration, secret)


def _detail_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    integration_id: uuid.UUID,
    dl_cursor: str | None = None,
    status_code: int = 200,
    error: str | None = None,
    access: tuple[integration_access.AccessForm, dict[str, str]] | None = None,
) -> Response:
    who = session.principal
    integration = c.integrations.get(who, integration_id)
    access_form, access_errors = access or (None, None)
    clients = lookups.clients(c, who)
    letters = c.integrations.list_dead_letters(
        who, integration_id, DEAD_LETTERS_PER_PAGE, dl_cursor
    )
    return render(
        request,
        "integration_detail.html",
        session,
        status_code,
        error=error,
        integration=integration,
        provider_label=PROVIDER_LABELS[integration.provider],
        webhook_url=lookups.webhook_url(request, c, integration.id),
        last_received=c.integrations.last_received(who, [integration]).get(integration.id),
        clients=clients,
        client_names=lookups.names(clients),
        mappings=c.integrations.list_mappings(who, integration_id, MAX_LIMIT, None).items,
        assets=c.integrations.list_assets(who, integration_id, MAX_LIMIT, None).items,
        letters=letters,
        dl_cursor=dl_cursor,
        tactical=(TACTICAL_TRIGGER_BODY, TACTICAL_RESOLVED_BODY),
        sync=integration_sync.panel(c, who, integration),
        access=integration_access.panel(c, who, integration, access_form, access_errors),
    )


@router.get("/integrations/{integration_id}")
def show_integration(
    request: Request, c: ContainerDep, session: SessionDep, integration_id: str, dl_cursor: str = ""
) -> Response:
    iid = parse_id(integration_id, "integration")
    return _detail_page(request, c, session, iid, dl_cursor or None)


@router.post("/integrations/{integration_id}/rotate-secret")
def rotate_secret(
    request: Request, c: ContainerDep, session: FormSessionDep, integration_id: str
) -> Response:
    iid = parse_id(integration_id, "integration")
    secret = c.integrations.rotate_secret(session.principal, iid)
    return _secret_page(request, c, session, c.integrations.get(session.principal, iid), secret)


@router.post("/integrations/{integration_id}/api-access")
def save_api_access(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    integration_id: str,
    api_base_url: TextForm = "",
    poll_enabled: TextForm = "",
    poll_interval_minutes: TextForm = "",
    client_id: TextForm = "",
    client_secret: TextForm = "",
    api_key: TextForm = "",
    remove: ListForm = [],  # noqa: B006 (FastAPI copies form defaults)
) -> Response:
    # Asked first, so no one who may not change it learns anything from the form's errors.
    session.principal.require(Access.ADMIN)
    iid = parse_id(integration_id, "integration")
    integration = c.integrations.get(session.principal, iid)
    integration_access.require_api(integration, PROVIDER_LABELS[integration.provider])
    form = integration_access.AccessForm(
        api_base_url=api_base_url,
        poll_enabled=bool(poll_enabled),
        poll_interval_minutes=poll_interval_minutes,
        typed={"client_id": client_id, "client_secret": client_secret, "api_key": api_key},
        remove=frozenset(remove),
    )
    errors = lookups.FieldErrors()
    settings, credentials = integration_access.changes(integration, form, errors)
    if not errors:
        try:
            c.integrations.update(session.principal, iid, None, None, settings, credentials or None)
        except (InvalidInput, Conflict) as exc:
            if isinstance(exc, Conflict):
                return _detail_page(request, c, session, iid, None, 409, exc.message)
            name = lookups.short_field(exc.field) or "api_base_url"
            errors[name] = integration_access.next_to_field(exc, name)
    if errors:
        message = "API access was not saved: correct the fields marked below."
        if any(value.strip() for value in form.typed.values()):
            message += " Credentials typed are never shown again: type them once more."
        return _detail_page(request, c, session, iid, None, 422, message, (form, errors))
    return redirect(request, f"/integrations/{iid}#api-access", flash="API access saved.")


@router.post("/integrations/{integration_id}/mappings")
def add_mapping(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    integration_id: str,
    external_org_id: TextForm = "",
    client_id: TextForm = "",
) -> Response:
    iid = parse_id(integration_id, "integration")
    try:
        cid = lookups.optional_id(client_id, "client_id")
        if cid is None:
            raise InvalidInput("choose a client", field="client_id")
        external = lookups.printable(external_org_id, "external_org_id")
        c.integrations.add_mapping(session.principal, iid, external, cid)
    except (InvalidInput, Conflict) as exc:
        message = exc.message
        if isinstance(exc, Conflict):
            message = f"Organisation “{external_org_id.strip()}” is mapped already."
        return _detail_page(request, c, session, iid, None, STATUS[type(exc)], message)
    flash = f"Organisation “{external_org_id.strip()}” mapped."
    return redirect(request, f"/integrations/{iid}#mappings", flash=flash)


@router.post("/integrations/{integration_id}/mappings/{mapping_id}/delete")
def delete_mapping(
    request: Request, c: ContainerDep, session: FormSessionDep, integration_id: str, mapping_id: str
) -> Response:
    iid = parse_id(integration_id, "integration")
    c.integrations.delete_mapping(session.principal, iid, parse_id(mapping_id, "mapping"))
    return redirect(request, f"/integrations/{iid}#mappings", flash="Mapping deleted.")


@router.post("/integrations/{integration_id}/assets/{asset_id}")
def assign_asset(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    integration_id: str,
    asset_id: str,
    client_id: TextForm = "",
) -> Response:
    iid = parse_id(integration_id, "integration")
    try:
        cid = lookups.optional_id(client_id, "client_id")
        asset = c.integrations.assign_asset(
            session.principal, iid, parse_id(asset_id, "device"), cid
        )
    except InvalidInput as exc:
        return _detail_page(request, c, session, iid, None, 422, exc.message)
    where = "its organisation's client" if cid is None else "the chosen client"
    flash = f"Device “{asset.name or asset.external_device_id}” now follows {where}."
    return redirect(request, f"/integrations/{iid}#assets", flash=flash)


@router.post("/integrations/{integration_id}/dead-letters/{letter_id}/replay")
def replay_dead_letter(
    request: Request, c: ContainerDep, session: FormSessionDep, integration_id: str, letter_id: str
) -> Response:
    iid = parse_id(integration_id, "integration")
    letter, _answer, error = c.integrations.replay_dead_letter(
        session.principal, iid, parse_id(letter_id, "dead letter")
    )
    # The reason can quote the body; a flash travels in a cookie, which must stay small.
    reason = f" ({error[:300]})" if error else "."
    flash = f"Replayed: {letter.replay_result}{reason}"
    return redirect(request, f"/integrations/{iid}#dead-letters", flash=flash)
