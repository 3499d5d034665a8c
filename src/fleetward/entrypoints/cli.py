"""The `fleetward` command line (typer + rich).

User errors print one red line and exit non-zero; they never show a traceback.
"""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from fleetward.adapters.storage import migrate
from fleetward.bootstrap import Container
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.errors import Conflict
from fleetward.domain.identity import Principal, Role
from fleetward.domain.tenancy import Tenant
from fleetward.entrypoints.agent_main import agent_app
from fleetward.entrypoints.cli_common import (
    UserError,
    err,
    load_settings,
    open_container,
    options,
    out,
    run_action,
)
from fleetward.entrypoints.cli_evtx import evtx_app
from fleetward.entrypoints.cli_integrations import integrations_app
from fleetward.services.demo_data import seed_demo_alerts

app = typer.Typer(
    help="Fleetward: alerts to tickets, agents and compliance evidence for MSPs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
tenant_app = typer.Typer(help="Manage tenants (one per MSP).", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
timeline_app = typer.Typer(help="Manage the per-machine timeline.", no_args_is_help=True)
app.add_typer(timeline_app, name="timeline")
outbox_app = typer.Typer(
    help="Manage the outbox (domain events and the jobs that call out).", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")
app.add_typer(evtx_app, name="evtx")
app.add_typer(agent_app, name="agent")
secrets_app = typer.Typer(help="Manage the keys secrets are sealed with.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
app.add_typer(integrations_app, name="integrations")

DEMO_TENANT = "Demo MSP"
DEMO_ADMIN = "admin@demo.fleetward.test"
DEMO_CLIENTS = {
    "Contoso Dental": ["Main Street Surgery", "Riverside Clinic"],
    "Fabrikam Logistics": ["Warehouse North", "Head Office"],
    "Northwind Legal": ["City Office"],
}


@app.callback()
def _options(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where Fleetward keeps its data (env FLEETWARD_DATA_DIR, default ./data)."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="sqlite:///path or postgresql://... (env FLEETWARD_DATABASE_URL)."),
    ] = None,
) -> None:
    options.data_dir = data_dir
    options.database_url = database_url


def _read_password() -> str:
    """From stdin when piped, a hidden prompt on a terminal; empty means generate one."""
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return str(
            typer.prompt(
                "Password (empty to generate)", default="", hide_input=True, show_default=False
            )
        )
    return sys.stdin.readline().rstrip("\r\n")


def _generated_password() -> str:
    return secrets.token_urlsafe(15)


@app.command()
def init() -> None:
    """Create the database, or migrate it to this version. Safe to run again."""

    def action() -> None:
        with open_container(migrate_schema=True) as c:
            out.print(
                f"database ready at {c.db.engine.url.render_as_string(hide_password=True)} "
                f"(revision {migrate.current_revision(c.db)})",
                highlight=False,
            )

    run_action(action)


@tenant_app.command("create")
def tenant_create(name: Annotated[str, typer.Argument(help="The tenant's name.")]) -> None:
    """Create a tenant."""

    def action() -> None:
        with open_container() as c:
            tenant = c.identity.create_tenant(name)
            out.print(f"tenant {tenant.name!r} created (id {tenant.id})", highlight=False)

    run_action(action)


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Option(help="Name of the tenant the user belongs to.")],
    email: Annotated[str, typer.Option(help="Login e-mail address.")],
    role: Annotated[Role, typer.Option(help="admin, operator or readonly.")] = Role.OPERATOR,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a user. The password is read from stdin, or generated and printed."""

    def action() -> None:
        password = _read_password()
        generated = not password
        password = password or _generated_password()
        with open_container() as c:
            found = c.identity.tenant_by_name(tenant)
            user = c.identity.create_user(SYSTEM_CLI, found.id, email, role, password, name)
        out.print(
            f"user {user.email} ({user.role.value}) created in {found.name!r}", highlight=False
        )
        if generated:
            out.print(f"password: {password}", highlight=False)

    run_action(action)


@apikey_app.command("create")
def apikey_create(
    email: Annotated[str, typer.Option(help="The user the key acts as.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
) -> None:
    """Create an API key acting as a user. The key is printed once and never again."""

    def action() -> None:
        with open_container() as c:
            user = c.identity.user_by_email(email)
            key, secret = c.identity.create_api_key(SYSTEM_CLI, user, name)
        err.print(f"API key {key.name!r} for {user.email} (store it now; it is not shown again):")
        out.print(secret, highlight=False)

    run_action(action)


@secrets_app.command("reseal")
def secrets_reseal() -> None:
    """Seal every stored secret with the first key of FLEETWARD_SECRET_KEY.

    Rotate the key by putting a new one first (`NEW,OLD`), running this, then
    dropping the old one.
    """

    def action() -> None:
        with open_container() as c:
            try:
                count = (
                    c.integrations.reseal_secrets()
                    + c.subscriptions.reseal_secrets()
                    + c.notifications.reseal_targets()
                )
            except ValueError as error:
                raise UserError(str(error)) from None
        out.print(f"resealed {count} secrets with the first configured key")

    run_action(action)


@timeline_app.command("cleanup")
def timeline_cleanup(
    days: Annotated[
        int | None,
        typer.Option(help="Keep this many days (env FLEETWARD_TIMELINE_RETENTION_DAYS, 90)."),
    ] = None,
) -> None:
    """Delete timeline events recorded longer ago than the retention period (all tenants)."""

    def action() -> None:
        settings = load_settings(timeline_retention_days=days)
        with open_container(settings) as c:
            deleted = c.timeline.cleanup(settings.timeline_retention_days)
        out.print(
            f"deleted {deleted} timeline events older than {settings.timeline_retention_days} days"
        )

    run_action(action)


@outbox_app.command("cleanup")
def outbox_cleanup(
    days: Annotated[
        int | None,
        typer.Option(help="Keep this many days (env FLEETWARD_OUTBOX_RETENTION_DAYS, 30)."),
    ] = None,
) -> None:
    """Delete domain events published, and outbox jobs finished, longer ago than the
    retention period (all tenants). Pending and running work is never deleted."""

    def action() -> None:
        settings = load_settings(outbox_retention_days=days)
        with open_container(settings) as c:
            cleaned = c.outbox_retention.cleanup(settings.outbox_retention_days)
        out.print(
            f"deleted {cleaned.events} published domain events and {cleaned.jobs} finished "
            f"jobs older than {settings.outbox_retention_days} days"
        )

    run_action(action)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")] = None,
) -> None:
    """Serve the API and dashboard."""
    import uvicorn

    from fleetward.entrypoints.http.app import create_app
    from fleetward.entrypoints.runtime import tune_gc_for_serving
    from fleetward.services.agent_control import MAX_FRAME_BYTES

    def action() -> None:
        settings = load_settings(host=host, port=port)
        with open_container(settings) as c:
            out.print(
                f"Fleetward on http://{settings.host}:{settings.port}/ (Ctrl+C stops)",
                highlight=False,
            )
            app = create_app(c)
            tune_gc_for_serving()
            uvicorn.run(
                app,
                host=settings.host,
                port=settings.port,
                access_log=False,
                log_level="warning",
                # Only the configured proxies are believed (uvicorn's own default would
                # trust X-Forwarded-For from 127.0.0.1); the app applies the same rule.
                proxy_headers=bool(settings.forwarded_allow_ips),
                forwarded_allow_ips=settings.forwarded_allow_ips or None,
                # The channel's own bound (a little over: it is the payload, not the frame),
                # so an oversize agent frame is refused before it is buffered whole.
                ws_max_size=MAX_FRAME_BYTES + 1024,
            )

    run_action(action)


def _ensure_demo(c: Container) -> tuple[Tenant, str]:
    """Create the demo tenant, its clients and an admin; re-running resets the password."""
    password = _generated_password()
    try:
        tenant = c.identity.create_tenant(DEMO_TENANT)
    except Conflict:
        tenant = c.identity.tenant_by_name(DEMO_TENANT)
    try:
        admin = c.identity.create_user(
            SYSTEM_CLI, tenant.id, DEMO_ADMIN, Role.ADMIN, password, "Demo Admin"
        )
    except Conflict:
        admin = c.identity.user_by_email(DEMO_ADMIN)
        acting = Principal(tenant.id, admin.id, admin.email, admin.role)
        c.identity.update_user(acting, admin.id, password=password)
    acting = Principal(tenant.id, admin.id, admin.email, admin.role)
    existing = {client.name for client in c.clients.list_clients(acting, 500, None).items}
    for client_name, sites in DEMO_CLIENTS.items():
        if client_name in existing:
            continue
        client = c.clients.create_client(
            acting, client_name, "Sample client created by `fleetward demo`."
        )
        for site_name in sites:
            c.clients.create_site(acting, client.id, site_name)
    by_name = {client.name: client for client in c.clients.list_clients(acting, 500, None).items}
    demo_clients = [by_name[name] for name in DEMO_CLIENTS if name in by_name]
    seed_demo_alerts(
        acting, demo_clients, c.integrations, c.rules, c.webhooks, c.pipeline, datetime.now(UTC)
    )
    return tenant, password


@app.command()
def demo() -> None:
    """Initialise the database with a demo tenant: clients, alerts, tickets; prints a login."""

    def action() -> None:
        settings = load_settings()
        with open_container(settings, migrate_schema=True) as c:
            tenant, password = _ensure_demo(c)
        out.print(
            f"demo tenant {tenant.name!r} is ready. Log in at {settings.public_base_url()}/login"
        )
        out.print(f"  e-mail:   {DEMO_ADMIN}", highlight=False)
        out.print(f"  password: {password}", highlight=False)

    run_action(action)


def main() -> None:
    app()
