"""Notifications and preferences in storage, on both engines: one user's page newest
first, the unread count and marks, and preferences saved per channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from fleetward.domain.notifications import Channel, ChannelPreference, ChatKind
from fleetward.services.notifications import notify
from tests.conftest import TenantFixture

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_preferences_are_saved_per_channel_and_read_back_per_user(
    container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    uow = SqlUnitOfWork(container.db)
    me, colleague = tenant.operator.user_id, tenant.admin.user_id
    chat = ChannelPreference(Channel.CHAT, ("alert.matched",), ChatKind.TEAMS, "sealed-url")
    with uow.write() as repos:
        repos.notification_preferences.save(
            tenant.id, me, [ChannelPreference(Channel.EMAIL, ()), chat], T0
        )
    with uow.write() as repos:  # saving a channel again replaces it, others stay
        repos.notification_preferences.save(
            tenant.id, me, [ChannelPreference(Channel.EMAIL, ("alert.flapping",))], T0
        )
    with uow.read() as repos:
        found = repos.notification_preferences.of_users(tenant.id, [me, colleague])
        elsewhere = repos.notification_preferences.of_users(other_tenant.id, [me])
    assert found[colleague] == {}
    assert found[me] == {
        Channel.EMAIL: ChannelPreference(Channel.EMAIL, ("alert.flapping",)),
        Channel.CHAT: chat,
    }
    assert elsewhere == {me: {}}


def test_notify_writes_rows_and_delivery_jobs_and_reads_them_newest_first(
    container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    uow = SqlUnitOfWork(container.db)
    me = tenant.operator.user_id
    with uow.write() as repos:
        for n in range(3):
            ids = notify(
                repos,
                tenant.id,
                [me, me, other_tenant.admin.user_id, uuid.uuid4()],  # once; only this tenant's
                "alert.matched",
                f"title {n}\r\nBcc: x",
                "body",
                "alert",
                None,
                T0 + timedelta(minutes=n),
            )
            assert len(ids) == 1
    with uow.write() as repos:
        page = repos.notifications.newest(tenant.id, me, 2, None)
        assert [n.title for n in page.items] == ["title 2 Bcc: x", "title 1 Bcc: x"]
        rest = repos.notifications.newest(tenant.id, me, 2, page.next)
        assert [n.title for n in rest.items] == ["title 0 Bcc: x"] and rest.next is None
        jobs = repos.jobs.about(tenant.id, "notification", page.items[0].id)
        assert [(j.kind, j.key) for j in jobs] == [("notify.email", f"{page.items[0].id}:email")]
        assert repos.notifications.unread_count(tenant.id, me) == 3
        repos.notifications.mark_read(tenant.id, other_tenant.admin.user_id, T0, page.items[0].id)
        assert repos.notifications.unread_count(tenant.id, me) == 3  # not theirs to mark
        repos.notifications.mark_read(tenant.id, me, T0, page.items[0].id)
        assert repos.notifications.unread_count(tenant.id, me) == 2
        unread = repos.notifications.newest(tenant.id, me, 10, None, unread_only=True)
        assert [n.title for n in unread.items] == ["title 1 Bcc: x", "title 0 Bcc: x"]
        assert repos.notifications.mark_all_read(tenant.id, me, T0) == 2
        assert repos.notifications.unread_count(tenant.id, me) == 0
        assert repos.notifications.unread_count(other_tenant.id, other_tenant.admin.user_id) == 0
