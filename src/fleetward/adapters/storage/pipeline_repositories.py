"""The pipeline's repositories over one transaction, one module per aggregate."""

from __future__ import annotations

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.alert_repositories import AlertRepository, ReceiptRepository
from fleetward.adapters.storage.flap_repositories import FlapStateRepository
from fleetward.adapters.storage.integration_repositories import (
    AssetRepository,
    IntegrationRepository,
    OrgMappingRepository,
)
from fleetward.adapters.storage.job_repositories import JobRepository
from fleetward.adapters.storage.notification_repositories import (
    NotificationPreferenceRepository,
    NotificationRepository,
)
from fleetward.adapters.storage.outbox_repositories import EventOutbox
from fleetward.adapters.storage.repositories import RepositorySet, TenantRows, repository
from fleetward.adapters.storage.rule_repositories import RuleRepository, WindowRepository
from fleetward.adapters.storage.subscription_repositories import (
    WebhookSubscriptionRepository,
)
from fleetward.adapters.storage.sync_repositories import SyncRunRepository
from fleetward.adapters.storage.ticket_repositories import (
    BoardRepository,
    PriorityRepository,
    StatusRepository,
    TicketRepository,
)
from fleetward.domain.integrations import DeadLetter
from fleetward.domain.tickets import Comment, TimeEntry


class PipelineRepositories(RepositorySet):
    """The pipeline's repositories over one transaction."""

    integrations = repository(IntegrationRepository)
    org_mappings = repository(OrgMappingRepository)
    assets = repository(AssetRepository)
    dead_letters = repository(lambda conn: TenantRows(conn, schema.dead_letter, DeadLetter))
    alerts = repository(AlertRepository)
    receipts = repository(ReceiptRepository)
    rules = repository(RuleRepository)
    windows = repository(WindowRepository)
    tickets = repository(TicketRepository)
    boards = repository(BoardRepository)
    statuses = repository(StatusRepository)
    priorities = repository(PriorityRepository)
    comments = repository(lambda conn: TenantRows(conn, schema.ticket_comment, Comment))
    time_entries = repository(lambda conn: TenantRows(conn, schema.time_entry, TimeEntry))
    events = repository(EventOutbox)
    notifications = repository(NotificationRepository)
    notification_preferences = repository(NotificationPreferenceRepository)
    jobs = repository(JobRepository)
    webhook_subscriptions = repository(WebhookSubscriptionRepository)
    flap_states = repository(FlapStateRepository)
    sync_runs = repository(SyncRunRepository)
