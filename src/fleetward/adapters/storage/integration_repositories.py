"""Repositories of integrations, their organisation mappings and assets (devices)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from fleetward.adapters.storage import hot_sql, schema
from fleetward.adapters.storage.hot_sql import cached_statement
from fleetward.adapters.storage.repositories import TenantRows, _to
from fleetward.domain.alerts import Provider
from fleetward.domain.errors import Conflict
from fleetward.domain.integrations import Asset, Integration, OrgMapping, SealedCredentials


def _credentials(stored: str | None) -> SealedCredentials | None:
    if stored is None:
        return None
    document = json.loads(stored)
    return SealedCredentials(tuple(document["names"]), document["sealed"])


def _stored(credentials: SealedCredentials | None) -> str | None:
    if credentials is None:
        return None
    return json.dumps({"names": list(credentials.names), "sealed": credentials.sealed})


def _integration(row: Mapping[Any, Any]) -> Integration:
    return _to(Integration, {**row, "provider": Provider(row["provider"])})


class IntegrationRepository(TenantRows[Integration]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.integration, Integration, convert=_integration)

    def add(
        self,
        integration: Integration,
        webhook_secret: str,
        credentials: SealedCredentials | None = None,
    ) -> Integration:
        values = {
            **dataclasses.asdict(integration),
            "provider": integration.provider.value,
            "webhook_secret": webhook_secret,
            "credentials": _stored(credentials),
        }
        try:
            self.conn.execute(insert(schema.integration).values(**values))
        except IntegrityError:
            raise Conflict("another integration has this name", field="name") from None
        return integration

    def for_webhook(self, integration_id: uuid.UUID) -> tuple[Integration, str] | None:
        """Unscoped by design: the URL names the integration, its secret proves the caller."""
        t = schema.integration
        statement = cached_statement(
            ("integration.for_webhook",), lambda: select(t).where(t.c.id == bindparam("id"))
        )
        row = self.conn.execute(statement, {"id": integration_id}).mappings().first()
        return None if row is None else (_integration(row), row["webhook_secret"])

    def sealed_secrets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """Every integration's sealed secret, across tenants: for re-sealing under a new key."""
        t = schema.integration
        rows = self.conn.execute(select(t.c.tenant_id, t.c.id, t.c.webhook_secret))
        return [(row.tenant_id, row.id, row.webhook_secret) for row in rows]

    def set_secret(self, tenant_id: uuid.UUID, integration_id: uuid.UUID, secret: str) -> None:
        t = schema.integration
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == integration_id)
            .values(webhook_secret=secret)
        )

    def sealed_credentials(
        self, tenant_id: uuid.UUID, integration_id: uuid.UUID
    ) -> SealedCredentials | None:
        t = schema.integration
        statement = cached_statement(
            ("integration.sealed_credentials",),
            lambda: select(t.c.credentials).where(
                t.c.tenant_id == bindparam("tenant_id"), t.c.id == bindparam("id")
            ),
        )
        params = {"tenant_id": tenant_id, "id": integration_id}
        return _credentials(self.conn.execute(statement, params).scalar_one_or_none())

    def credential_names(
        self, tenant_id: uuid.UUID, integration_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str, ...]]:
        """Which credentials each integration has, without opening any."""
        if not integration_ids:
            return {}
        t = schema.integration
        rows = self.conn.execute(
            select(t.c.id, t.c.credentials).where(
                t.c.tenant_id == tenant_id, t.c.id.in_(integration_ids)
            )
        )
        names = {row.id: _credentials(row.credentials) for row in rows}
        return {key: value.names if value else () for key, value in names.items()}

    def all_sealed_credentials(self) -> list[tuple[uuid.UUID, uuid.UUID, SealedCredentials]]:
        """Every integration's sealed credentials, across tenants: for re-sealing."""
        t = schema.integration
        rows = self.conn.execute(
            select(t.c.tenant_id, t.c.id, t.c.credentials).where(t.c.credentials.is_not(None))
        )
        found = [(row.tenant_id, row.id, _credentials(row.credentials)) for row in rows]
        return [(tenant, id_, sealed) for tenant, id_, sealed in found if sealed is not None]

    def set_credentials(
        self,
        tenant_id: uuid.UUID,
        integration_id: uuid.UUID,
        credentials: SealedCredentials | None,
    ) -> None:
        t = schema.integration
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == integration_id)
            .values(credentials=_stored(credentials))
        )

    def last_received(
        self, tenant_id: uuid.UUID, integration_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, datetime]:
        """When each integration last took in a webhook, from what webhooks leave behind:
        its newest alert (a trigger), receipt (a reset or acknowledgement) and dead
        letter (a body it could not read). A duplicate leaves nothing, so it does not
        count. Each is one seek on an (integration, created_at) index, so nothing is
        written on the webhook path for this."""
        if not integration_ids:
            return {}
        i, a, r, d = schema.integration, schema.alert, schema.alert_receipt, schema.dead_letter
        newest = [
            select(func.max(a.c.created_at)).where(a.c.integration_id == i.c.id),
            select(func.max(r.c.created_at)).where(r.c.integration_id == i.c.id),
            select(func.max(d.c.created_at)).where(
                d.c.tenant_id == i.c.tenant_id, d.c.integration_id == i.c.id
            ),
        ]
        query = select(i.c.id, *(q.scalar_subquery() for q in newest)).where(
            i.c.tenant_id == tenant_id, i.c.id.in_(integration_ids)
        )
        found: dict[uuid.UUID, datetime] = {}
        for integration_id, *times in self.conn.execute(query):
            known = [_as_utc(t) for t in times if t is not None]
            if known:
                found[integration_id] = max(known)
        return found


def _as_utc(value: datetime) -> datetime:
    # A column type's conversion does not always survive an aggregate in a subquery.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OrgMappingRepository(TenantRows[OrgMapping]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.org_mapping, OrgMapping, unique_fields=("external_org_id",))

    def client_for(
        self, integration_id: uuid.UUID, external_org_id: str | None
    ) -> uuid.UUID | None:
        if external_org_id is None:
            return None
        t = schema.org_mapping
        statement = cached_statement(
            ("org_mapping.client_for",),
            lambda: select(t.c.client_id).where(
                t.c.integration_id == bindparam("integration_id"),
                t.c.external_org_id == bindparam("external_org_id"),
            ),
        )
        params = {"integration_id": integration_id, "external_org_id": external_org_id}
        return self.conn.execute(statement, params).scalar_one_or_none()


class AssetRepository(TenantRows[Asset]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.asset, Asset, unique_fields=("external_device_id",))

    def by_device(self, integration_id: uuid.UUID, external_device_id: str) -> Asset | None:
        t = schema.asset

        def build() -> Any:
            return select(*self._columns()).where(
                t.c.integration_id == bindparam("integration_id"),
                t.c.external_device_id == bindparam("external_device_id"),
            )

        params = {"integration_id": integration_id, "external_device_id": external_device_id}
        rows = hot_sql.fetch_all(self.conn, ("asset.by_device",), build, params)
        return _to(Asset, rows[0]) if rows else None
