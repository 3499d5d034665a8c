"""A client's page over HTTP: its name, sites, enrolment tokens, agents, alerts and
tickets; who may change what; another tenant's objects are not found."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.agents import enroll, make_token
from tests.support.api import audit_entries, cross_tenant_entries
from tests.support.pages import api, field_error, flash, forms, setup_pipeline
from tests.support.pipeline import make_client

# Pages do not depend on the engine: SQLite only (the storage contract runs on both
# engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only


def make_site(client: TestClient, tenant: TenantFixture, client_id: str, name: str) -> str:
    site = api(client, tenant, "POST", f"/api/v1/clients/{client_id}/sites", json={"name": name})
    return str(site["id"])


def site_section(page: Response, site_id: str) -> str:
    found = re.search(rf'<section class="site" id="site-{site_id}".*?</section>', page.text, re.S)
    assert found, f"site {site_id} is not on the page"
    return found.group(0)


def secret_of(page: Response) -> str:
    found = re.search(r'value="(fwe_[^"]+)" readonly data-testid="token-secret"', page.text)
    assert found, "no token shown"
    return found.group(1)


def test_the_clients_list_links_each_client_to_its_page(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    log_in(client, tenant.readonly.email)
    listed = client.get("/clients")
    assert f'<a href="/clients/{client_id}">Contoso</a>' in listed.text
    page = client.get(f"/clients/{client_id}")
    assert page.status_code == 200
    assert "<h1>Contoso</h1>" in page.text
    assert "No sites yet." in page.text


def test_onboarding_a_client_site_token_and_the_command_that_enrols(
    client: TestClient, tenant: TenantFixture
) -> None:
    csrf = log_in(client, tenant.admin.email)
    client.post("/clients", data={"name": "Initech", "csrf_token": csrf})
    client_id = re.findall(r'href="/clients/([0-9a-f-]{36})">Initech<', client.get("/clients").text)
    assert len(client_id) == 1
    here = f"/clients/{client_id[0]}"

    added = client.post(
        f"{here}/sites", data={"name": "Head office", "address": "1 Main St", "csrf_token": csrf}
    )
    assert flash(added) == "Site “Head office” added."
    site_id = re.findall(r'<section class="site" id="site-([0-9a-f-]{36})"', added.text)
    assert len(site_id) == 1
    assert "1 Main St" in site_section(added, site_id[0])

    made = client.post(
        f"{here}/sites/{site_id[0]}/tokens",
        data={"name": "Laptops", "expires_in_hours": "24", "csrf_token": csrf},
    )
    assert made.status_code == 200, made.text
    secret = secret_of(made)
    assert f"fleetward agent run --server http://testserver --token {secret}" in made.text
    assert "shown only this once" in made.text
    assert 'data-copy="token-secret"' in made.text and 'data-copy="token-command"' in made.text

    again = client.get(here)
    section = site_section(again, site_id[0])
    assert secret not in again.text, "the secret is shown once only"
    assert "Laptops" in section and f"{secret[:12]}" in section
    token = api(client, tenant, "GET", "/api/v1/enrollment-tokens")["items"][0]
    expires = datetime.fromisoformat(token["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    assert token["prefix"] in section and "active" in section

    assert enroll(client, secret, "INITECH-PC1").status_code == 201
    page = client.get(here)
    assert "INITECH-PC1" in page.text
    assert "1 agent · 1 token" in site_section(page, site_id[0])


def test_an_operator_renames_the_client_and_its_sites_and_is_told_what_is_wrong(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    make_client(client, tenant, "Globex")
    site_id = make_site(client, tenant, client_id, "HQ")
    make_site(client, tenant, client_id, "Annex")
    here = f"/clients/{client_id}"
    csrf = log_in(client, tenant.operator.email)

    renamed = client.post(f"{here}/name", data={"name": " Contoso  Ltd ", "csrf_token": csrf})
    assert flash(renamed) == "Client renamed to “Contoso Ltd”."
    assert api(client, tenant, "GET", f"/api/v1/clients/{client_id}")["name"] == "Contoso Ltd"
    taken = client.post(f"{here}/name", data={"name": "Globex", "csrf_token": csrf})
    assert taken.status_code == 409
    assert field_error(taken, "client-name") == "that name is taken already"
    assert 'id="client-name" name="name" class="grow" value="Globex"' in taken.text

    site = client.post(f"{here}/sites/{site_id}/name", data={"name": "Head", "csrf_token": csrf})
    assert flash(site) == "Site renamed to “Head”."
    assert api(client, tenant, "GET", f"/api/v1/clients/{client_id}/sites/{site_id}")["name"] == (
        "Head"
    )
    empty = client.post(f"{here}/sites/{site_id}/name", data={"name": "  ", "csrf_token": csrf})
    assert empty.status_code == 422
    assert field_error(empty, f"site-{site_id}-name") == "name must not be empty"
    clash = client.post(f"{here}/sites/{site_id}/name", data={"name": "Annex", "csrf_token": csrf})
    assert clash.status_code == 409
    assert field_error(clash, f"site-{site_id}-name") == "that name is taken already"
    no_site = client.post(f"{here}/sites", data={"name": "", "csrf_token": csrf})
    assert no_site.status_code == 422
    assert field_error(no_site, "site-name") == "name must not be empty"

    actions = [e["action"] for e in audit_entries(client, tenant.admin.headers)]
    assert actions.count("site.update") == 1 and actions.count("client.update") == 1


def test_deleting_a_site_says_what_goes_with_it_and_takes_its_agents_and_tokens(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    site_id = make_site(client, tenant, client_id, "HQ")
    kept_id = make_site(client, tenant, client_id, "Annex")
    made = make_token(client, tenant, site_id)
    make_token(client, tenant, site_id)
    agent = enroll(client, made["token"], "HQ-PC").json()
    empty_site = f"/clients/{client_id}/sites/{kept_id}/delete"
    csrf = log_in(client, tenant.operator.email)

    asked = client.get(f"/clients/{client_id}/sites/{site_id}/delete")
    assert asked.status_code == 200
    said = html.unescape(re.sub(r"<[^>]+>", "", asked.text))
    assert "1 agent: their keys stop working at once" in said
    assert "2 enrolment tokens: they no longer enrol machines" in said
    assert "no agents" in html.unescape(client.get(empty_site).text)

    whole = html.unescape(client.get(f"/clients/{client_id}/delete").text)
    assert "with its sites and their agents and enrolment tokens" in whole

    deleted = client.post(f"/clients/{client_id}/sites/{site_id}/delete", data={"csrf_token": csrf})
    assert flash(deleted) == "Site “HQ” deleted."
    assert f'id="site-{site_id}"' not in deleted.text and f'id="site-{kept_id}"' in deleted.text
    gone = client.get(f"/api/v1/agents/{agent['agent_id']}", headers=tenant.admin.headers)
    assert gone.status_code == 404
    assert api(client, tenant, "GET", "/api/v1/enrollment-tokens")["items"] == []
    assert enroll(client, made["token"], "LATE-PC").status_code == 401
    newest = audit_entries(client, tenant.admin.headers)[0]
    assert (newest["action"], newest["object_id"]) == ("site.delete", site_id)


def test_tokens_are_revoked_on_the_page_and_bad_expiry_is_refused(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    site_id = make_site(client, tenant, client_id, "HQ")
    other_site = make_site(client, tenant, client_id, "Annex")
    token = make_token(client, tenant, site_id)
    elsewhere = make_token(client, tenant, other_site)
    here = f"/clients/{client_id}/sites/{site_id}"
    csrf = log_in(client, tenant.admin.email)

    for hours in ("soon", "0", "99999"):
        refused = client.post(
            f"{here}/tokens", data={"expires_in_hours": hours, "name": "x", "csrf_token": csrf}
        )
        assert refused.status_code == 422, hours
        assert field_error(refused, f"token-{site_id}-hours"), hours
    assert len(api(client, tenant, "GET", "/api/v1/enrollment-tokens")["items"]) == 2

    # A token of the tenant's other site is not this site's to revoke.
    wrong = client.post(f"{here}/tokens/{elsewhere['id']}/revoke", data={"csrf_token": csrf})
    assert wrong.status_code == 404
    revoked = client.post(f"{here}/tokens/{token['id']}/revoke", data={"csrf_token": csrf})
    assert flash(revoked) == "Token “rollout” revoked."
    assert "revoked" in site_section(revoked, site_id)
    assert enroll(client, token["token"], "LATE-PC").status_code == 401
    assert enroll(client, elsewhere["token"], "ANNEX-PC").status_code == 201


def test_the_page_shows_the_clients_agents_open_alerts_and_tickets_linking_the_lists(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = setup_pipeline(client, tenant, title="Disk C: full on FS1")
    client_id = made["client_id"]
    other_id = make_client(client, tenant, "Globex")
    api(
        client, tenant, "POST", "/api/v1/tickets", json={"title": "Printer", "client_id": client_id}
    )
    api(client, tenant, "POST", "/api/v1/tickets", json={"title": "Other's", "client_id": other_id})
    mine = make_token(client, tenant, make_site(client, tenant, client_id, "HQ"))["token"]
    theirs = make_token(client, tenant, make_site(client, tenant, other_id, "HQ"))["token"]
    assert enroll(client, mine, "CONTOSO-PC").status_code == 201
    assert enroll(client, theirs, "GLOBEX-PC").status_code == 201
    log_in(client, tenant.readonly.email)

    page = client.get(f"/clients/{client_id}")
    assert "Disk C: full on FS1" in page.text and "Printer" in page.text
    assert "Other&#39;s" not in page.text and "Other's" not in page.text
    assert "CONTOSO-PC" in page.text and "GLOBEX-PC" not in page.text
    tickets = api(client, tenant, "GET", "/api/v1/tickets", params={"client_id": client_id})
    open_tickets = [t for t in tickets["items"] if not t["is_closed"]]
    assert f'Open tickets <span class="muted small">{len(open_tickets)}</span>' in page.text
    assert 'Open alerts <span class="muted small">1</span>' in page.text
    for link in (
        f"/alerts?client_id={client_id}&amp;status=active",
        f"/tickets?client_id={client_id}",
        f"/agents?client_id={client_id}",
    ):
        assert f'href="{link}"' in page.text, link

    agents = client.get(f"/agents?client_id={client_id}")
    assert "CONTOSO-PC" in agents.text and "GLOBEX-PC" not in agents.text
    assert f'href="/agents?client_id={client_id}&amp;state=online"' in agents.text
    assert "GLOBEX-PC" in client.get("/agents").text
    assert client.get("/agents?client_id=nope").status_code == 422


def test_readonly_sees_no_forms_and_posts_are_refused_operators_make_no_tokens(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    site_id = make_site(client, tenant, client_id, "HQ")
    token = make_token(client, tenant, site_id)
    here = f"/clients/{client_id}"
    posts = {
        f"{here}/name": {"name": "Mine"},
        f"{here}/sites": {"name": "Annex"},
        f"{here}/sites/{site_id}/name": {"name": "Annex"},
        f"{here}/sites/{site_id}/delete": {},
        f"{here}/sites/{site_id}/tokens": {"name": "t", "expires_in_hours": "24"},
        f"{here}/sites/{site_id}/tokens/{token['id']}/revoke": {},
    }
    csrf = log_in(client, tenant.readonly.email)
    page = client.get(here)
    assert forms(page) == []
    assert "Delete client" not in page.text and "Delete…" not in page.text
    assert client.get(f"{here}/sites/{site_id}/delete").status_code == 403
    for path, data in posts.items():
        assert client.post(path, data={**data, "csrf_token": csrf}).status_code == 403, path
        assert client.post(path, data=data).status_code == 403, f"{path} without CSRF"

    client.post("/logout", data={"csrf_token": csrf})
    csrf = log_in(client, tenant.operator.email)
    page = client.get(here)
    assert f"{here}/sites/{site_id}/name" in forms(page) and f"{here}/sites" in forms(page)
    assert not [f for f in forms(page) if "/tokens" in f]
    assert "Only an admin creates enrolment tokens." in page.text
    minted = posts[f"{here}/sites/{site_id}/tokens"]
    assert (
        client.post(
            f"{here}/sites/{site_id}/tokens", data={**minted, "csrf_token": csrf}
        ).status_code
        == 403
    )
    revoke = f"{here}/sites/{site_id}/tokens/{token['id']}/revoke"
    assert client.post(revoke, data={"csrf_token": csrf}).status_code == 403
    assert api(client, tenant, "GET", f"/api/v1/clients/{client_id}")["name"] == "Contoso"
    assert len(api(client, tenant, "GET", f"/api/v1/clients/{client_id}/sites")["items"]) == 1
    assert api(client, tenant, "GET", "/api/v1/enrollment-tokens")["items"][0]["revoked_at"] is None


def test_another_tenants_client_site_or_token_is_not_found_and_the_attempt_is_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = make_client(client, other_tenant, "Globex")
    their_site = make_site(client, other_tenant, theirs, "Their HQ")
    their_token = make_token(client, other_tenant, their_site)
    mine = make_client(client, tenant, "Contoso")
    my_site = make_site(client, tenant, mine, "HQ")
    csrf = log_in(client, tenant.admin.email)
    for path in (
        f"/clients/{theirs}",
        f"/clients/{theirs}/sites/{their_site}/delete",
        f"/clients/{mine}/sites/{their_site}/delete",
        "/clients/not-an-id",
        f"/agents?client_id={theirs}",
    ):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "Globex" not in page.text and "Their HQ" not in page.text
    for path in (
        f"/clients/{theirs}/name",
        f"/clients/{theirs}/sites",
        f"/clients/{mine}/sites/{their_site}/name",
        f"/clients/{mine}/sites/{their_site}/delete",
        f"/clients/{mine}/sites/{their_site}/tokens",
        f"/clients/{mine}/sites/{my_site}/tokens/{their_token['id']}/revoke",
    ):
        data = {"name": "Mine now", "expires_in_hours": "24", "csrf_token": csrf}
        assert client.post(path, data=data).status_code == 404, path
    assert cross_tenant_entries(client, tenant.admin.headers) == []
    audited = cross_tenant_entries(client, other_tenant.admin.headers)
    assert {e["object_id"] for e in audited} == {theirs, their_site, their_token["id"]}
    assert {e["actor_label"] for e in audited} == {tenant.admin.email}
    assert api(client, other_tenant, "GET", f"/api/v1/clients/{theirs}")["name"] == "Globex"
    sites = api(client, other_tenant, "GET", f"/api/v1/clients/{theirs}/sites")["items"]
    assert [s["name"] for s in sites] == ["Their HQ"]
    tokens = api(client, other_tenant, "GET", "/api/v1/enrollment-tokens")["items"]
    assert tokens[0]["revoked_at"] is None
