"""The one place where adapters are wired to services."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import structlog

from fleetward.adapters.notify.chat import ChatWebhooks
from fleetward.adapters.notify.email import SmtpMailer, SmtpSettings
from fleetward.adapters.outbound import OutboundHttp
from fleetward.adapters.providers import normalize
from fleetward.adapters.providers.apis import provider_api
from fleetward.adapters.security.passwords import Argon2Passwords
from fleetward.adapters.security.secretbox import FernetSecretBox, load_or_create_keys
from fleetward.adapters.storage import migrate
from fleetward.adapters.storage.database import Database, SqlUnitOfWork
from fleetward.adapters.storage.outbox_purge import SqlOutboxPurge
from fleetward.adapters.storage.overview_queries import SqlOverviewQueries
from fleetward.adapters.webhook_poster import OutboundPoster
from fleetward.config import Settings
from fleetward.domain.forwarding import parse_networks
from fleetward.domain.notifications import JOB_KINDS, Channel
from fleetward.domain.webhook_events import DELIVER_KIND
from fleetward.evtx_reader import read_evtx
from fleetward.services.agent_control import AgentControl
from fleetward.services.agents import AgentService
from fleetward.services.alert_actions import AlertActions
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.alerts import AlertService
from fleetward.services.audit import AuditService
from fleetward.services.boards import BoardService
from fleetward.services.clients import ClientService
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.eventlog_alerts import EventLogAlertService
from fleetward.services.evtx_import import EvtxImportService
from fleetward.services.identity import IdentityService, LoginPolicy
from fleetward.services.integrations import IntegrationService
from fleetward.services.maintenance import MaintenanceService
from fleetward.services.notification_center import NotificationService
from fleetward.services.outbox import JobRunner
from fleetward.services.outbox_retention import OutboxRetention
from fleetward.services.overview import OverviewService
from fleetward.services.ports import Clock, PasswordHasher, ProviderApiFactory
from fleetward.services.provider_access import ProviderAccess
from fleetward.services.provider_outbound import ProviderOutbound
from fleetward.services.reconciliation import SyncService
from fleetward.services.rules import RuleService
from fleetward.services.search import SearchService
from fleetward.services.tenant_settings import TenantSettingsService
from fleetward.services.tickets import TicketService
from fleetward.services.timeline import TimelineService
from fleetward.services.watches import WatchService
from fleetward.services.webhook_subscriptions import WebhookSubscriptionService
from fleetward.services.webhooks import WebhookService


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    db: Database
    identity: IdentityService
    clients: ClientService
    audit: AuditService
    pipeline: AlertPipeline
    webhooks: WebhookService
    integrations: IntegrationService
    boards: BoardService
    tickets: TicketService
    rules: RuleService
    maintenance: MaintenanceService
    alerts: AlertService
    alert_actions: AlertActions
    agents: AgentService
    control: AgentControl
    timeline: TimelineService
    watches: WatchService
    eventlog_alerts: EventLogAlertService
    evtx_import: EvtxImportService
    probes: CrossTenantProbes
    jobs: JobRunner
    outbox_retention: OutboxRetention
    outbound: OutboundHttp
    # (integration, opened credentials) -> its ProviderApi; services reach it through
    # integrations.provider_api(tenant_id, integration_id).
    provider_apis: ProviderApiFactory
    subscriptions: WebhookSubscriptionService
    tenant_settings: TenantSettingsService
    sync: SyncService
    provider_outbound: ProviderOutbound
    notifications: NotificationService
    overview: OverviewService
    search: SearchService

    def close(self) -> None:
        self.probes.stop()
        self.db.dispose()


class _StderrLogger:
    """Writes to whatever sys.stderr is at the time, so redirected stderr is honoured."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = msg


def _json_line(event: object, **_options: object) -> str:
    # orjson: the access log writes a line per request, on the hot path.
    return orjson.dumps(event, default=str).decode()


def _stderr_logger_factory(*_args: object) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger_factory,
        cache_logger_on_first_use=True,
    )


def build(
    settings: Settings,
    clock: Clock = utc_now,
    migrate_schema: bool = False,
    passwords: PasswordHasher | None = None,
    provider_apis: ProviderApiFactory | None = None,
) -> Container:
    """The wired application. `provider_apis` replaces the provider API factory
    (tests pass fakes, or clients whose backoff does not wait)."""
    db = Database(settings.resolved_database_url())
    if migrate_schema:
        migrate.upgrade(db)
    uow = SqlUnitOfWork(db)
    policy = LoginPolicy(
        max_failures=settings.login_max_failures,
        max_failures_per_address=settings.login_max_failures_per_address,
        window=timedelta(seconds=settings.login_window_seconds),
        session_ttl=timedelta(hours=settings.session_ttl_hours),
    )
    secrets = FernetSecretBox(load_or_create_keys(settings.secret_key, settings.data_dir))
    probes = CrossTenantProbes(uow, clock, settings.cross_tenant_queue_size)
    base_url = settings.public_base_url()
    pipeline = AlertPipeline(uow, clock, base_url)
    webhooks = WebhookService(uow, clock, pipeline, secrets, normalize)
    timeline = TimelineService(uow, clock, probes)
    eventlog_alerts = EventLogAlertService(uow, clock, pipeline, secrets)
    agents = AgentService(uow, clock, probes)
    outbound = OutboundHttp(parse_networks(settings.outbound_allow_cidrs))
    provider_apis = provider_apis or provider_api(outbound)
    control = AgentControl(uow, clock, agents)
    access = ProviderAccess(uow, secrets, provider_apis)
    subscriptions = WebhookSubscriptionService(
        uow, clock, probes, secrets, OutboundPoster(outbound)
    )
    # Each turn of the runner first publishes waiting domain events as deliveries.
    jobs = JobRunner(uow, clock, feeders=[subscriptions.dispatch_in])
    jobs.register(DELIVER_KIND, subscriptions.deliver)
    provider_outbound = ProviderOutbound(uow, clock, access.api_for)
    provider_outbound.register(jobs)
    notifications = NotificationService(
        uow,
        clock,
        probes,
        secrets,
        _mailer(settings),
        ChatWebhooks(outbound),
        settings.public_base_url(),
    )
    jobs.register(JOB_KINDS[Channel.EMAIL], notifications.deliver_email)
    jobs.register(JOB_KINDS[Channel.CHAT], notifications.deliver_chat)
    return Container(
        settings=settings,
        db=db,
        identity=IdentityService(uow, clock, probes, passwords or Argon2Passwords(), policy),
        clients=ClientService(uow, clock, probes),
        audit=AuditService(uow),
        pipeline=pipeline,
        webhooks=webhooks,
        integrations=IntegrationService(uow, clock, probes, secrets, webhooks, access),
        boards=BoardService(uow, clock, probes),
        tickets=TicketService(uow, clock, probes, pipeline, base_url),
        rules=RuleService(uow, clock, probes, pipeline, normalize),
        maintenance=MaintenanceService(uow, clock, probes),
        alerts=AlertService(uow, clock, probes),
        alert_actions=AlertActions(uow, clock, probes, pipeline),
        agents=agents,
        control=control,
        timeline=timeline,
        watches=WatchService(uow, clock, probes, control.config_changed),
        eventlog_alerts=eventlog_alerts,
        evtx_import=EvtxImportService(uow, timeline, eventlog_alerts, read_evtx),
        probes=probes,
        jobs=jobs,
        outbox_retention=OutboxRetention(SqlOutboxPurge(uow), clock),
        outbound=outbound,
        provider_apis=provider_apis,
        subscriptions=subscriptions,
        tenant_settings=TenantSettingsService(uow, clock),
        sync=SyncService(uow, clock, probes, pipeline, access.api_for),
        provider_outbound=provider_outbound,
        notifications=notifications,
        overview=OverviewService(SqlOverviewQueries(uow), clock),
        search=SearchService(uow),
    )


def _mailer(settings: Settings) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_from,
            settings.smtp_starttls,
        )
    )
