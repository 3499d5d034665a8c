"""The dashboard pages over HTTP without a browser: security properties, on both engines."""

from __future__ import annotations

import html
import re
import uuid
from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from fleetward.bootstrap import Container
from fleetward.domain.pagination import DEFAULT_LIMIT
from tests.conftest import PASSWORD, TenantFixture

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: Response) -> str:
    found = TOKEN.search(page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def post_login(
    client: TestClient, email: str, password: str = PASSWORD, next_path: str = ""
) -> Response:
    form = client.get("/login")
    data = {"email": email, "password": password, "csrf_token": csrf_of(form), "next": next_path}
    response: Response = client.post("/login", data=data, follow_redirects=False)
    return response


def log_in(client: TestClient, email: str) -> str:
    """Log in and return the session's CSRF token, as the clients page carries it."""
    assert post_login(client, email).status_code == 303
    return csrf_of(client.get("/clients"))


def session_cookie(response: Response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("fw_session="):
            cookie.load(header)
    assert "fw_session" in cookie, "no session cookie was set"
    return cookie


def alert(page: Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', page.text)
    return found.group(1) if found else ""


def test_pages_need_a_session_and_send_you_to_login(client: TestClient) -> None:
    for path, next_path in [
        ("/", "%2F"),  # the overview, where a login lands
        ("/clients", "%2Fclients"),
        ("/users?cursor=x", "%2Fusers%3Fcursor%3Dx"),
    ]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={next_path}"
    # A form post cannot be replayed after logging in, so it carries no next.
    post = client.post("/clients", data={"name": "x"}, follow_redirects=False)
    assert (post.status_code, post.headers["location"]) == (303, "/login")


def test_session_cookie_is_httponly_samesite_lax_and_lives_as_long_as_the_session(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    response = post_login(client, tenant.admin.email)
    assert response.status_code == 303
    morsel = session_cookie(response)["fw_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"]
    ttl = container.settings.session_ttl_hours * 3600
    assert ttl - 60 <= int(morsel["max-age"]) <= ttl
    assert "text/html" in client.get("/clients").headers["content-type"]


def test_session_cookie_is_secure_when_served_over_https(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    # Read per request, so switching it on here is what a deployment would see.
    container.settings.secure_cookies = True
    # Over https, or the client would not send the (now Secure) login CSRF cookie back.
    https = TestClient(client.app, base_url="https://testserver")
    morsel = session_cookie(post_login(https, tenant.admin.email))["fw_session"]
    assert morsel["secure"] is True


def test_form_posts_without_the_csrf_token_are_refused(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.admin.email)
    for data in ({"name": "Contoso"}, {"name": "Contoso", "csrf_token": "forged"}):
        refused = client.post("/clients", data=data)
        assert refused.status_code == 403
        assert "text/html" in refused.headers["content-type"]
        assert "CSRF" in refused.text
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert client.post("/users", data={"email": "x@acme.test"}).status_code == 403
    # Nothing happened: no client was made and the session still works.
    assert "Contoso" not in client.get("/clients").text
    made = client.post("/clients", data={"name": "Contoso", "csrf_token": token})
    assert made.status_code == 200
    assert "Client “Contoso” created." in made.text


def test_form_text_follows_the_apis_text_rule(client: TestClient, tenant: TenantFixture) -> None:
    """On both engines (PostgreSQL refuses NUL): a NUL or a terminal escape in any form
    field is refused naming it; a textarea's CRLF lines are fine."""
    token = log_in(client, tenant.admin.email)
    for data, field in (
        ({"name": "Con\x00toso", "notes": ""}, "name"),
        ({"name": "Contoso", "notes": "esc \x1b[2J"}, "notes"),
        ({"name": "Contoso", "notes": "nul \x00"}, "notes"),
    ):
        refused = client.post("/clients", data={**data, "csrf_token": token})
        assert refused.status_code == 422, refused.text
        assert f"{field} must not contain" in html.unescape(refused.text)
    assert "Contoso" not in client.get("/clients").text
    made = client.post(
        "/clients", data={"name": "Contoso", "notes": "line\r\n\tnext", "csrf_token": token}
    )
    assert made.status_code == 200 and "Client “Contoso” created." in made.text


def test_the_login_form_needs_its_double_submit_token(
    client: TestClient, tenant: TenantFixture
) -> None:
    data = {"email": tenant.admin.email, "password": PASSWORD}
    refused = client.post("/login", data={**data, "csrf_token": "guessed"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "fw_session=" not in refused.headers.get("set-cookie", "")
    # The refusal hands out a fresh form, which then works.
    retry = client.post(
        "/login", data={**data, "csrf_token": csrf_of(refused)}, follow_redirects=False
    )
    assert retry.status_code == 303


def test_wrong_password_is_401_and_the_sixth_failure_of_an_account_is_rate_limited(
    client: TestClient, tenant: TenantFixture
) -> None:
    for _ in range(5):
        wrong = post_login(client, tenant.operator.email, "not the password")
        assert wrong.status_code == 401
        assert alert(wrong) == "wrong e-mail address or password"
    again = post_login(client, tenant.operator.email, "not the password")
    assert again.status_code == 429
    # The account is limited, even with the right password.
    limited = post_login(client, tenant.operator.email, PASSWORD)
    assert limited.status_code == 429
    assert "too many failed logins" in alert(limited)
    assert "retry-after" in limited.headers
    assert "fw_session=" not in limited.headers.get("set-cookie", "")
    # Its address is not: another account from there still logs in.
    assert post_login(client, tenant.admin.email, PASSWORD).status_code == 303


@pytest.mark.parametrize(
    "attempt",
    [
        "//evil.example",
        "//evil.example/clients",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/clients\r\nLocation: //evil.example",
    ],
)
def test_next_never_leads_off_site(client: TestClient, tenant: TenantFixture, attempt: str) -> None:
    form = client.get("/login", params={"next": attempt})
    assert 'name="next" value="/"' in form.text
    response = post_login(client, tenant.admin.email, next_path=attempt)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    # Already logged in, /login passes straight on: still not off site.
    again = client.get("/login", params={"next": attempt}, follow_redirects=False)
    assert again.headers["location"] == "/"


def test_next_leads_to_a_local_page(client: TestClient, tenant: TenantFixture) -> None:
    response = post_login(client, tenant.admin.email, next_path="/users?cursor=")
    assert response.headers["location"] == "/users?cursor="


def test_another_tenants_client_is_a_404_page(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    theirs = client.post(
        "/api/v1/clients", json={"name": "Globex Client"}, headers=other_tenant.admin.headers
    ).json()["id"]
    token = log_in(client, tenant.admin.email)
    for path in (
        f"/clients/{theirs}/edit",
        f"/clients/{theirs}/delete",
        "/clients/not-a-uuid/edit",
    ):
        page = client.get(path)
        assert page.status_code == 404
        assert "Not found" in page.text
        assert "Globex Client" not in page.text
    data = {"name": "Mine now", "csrf_token": token}
    assert client.post(f"/clients/{theirs}/edit", data=data).status_code == 404
    assert client.post(f"/clients/{theirs}/delete", data=data).status_code == 404
    still = client.get(f"/api/v1/clients/{theirs}", headers=other_tenant.admin.headers)
    assert still.json()["name"] == "Globex Client"


def test_client_form_errors_are_rerendered_with_their_status(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.operator.email)
    empty = client.post("/clients", data={"name": "   ", "notes": "kept", "csrf_token": token})
    assert empty.status_code == 422
    assert alert(empty) == "name must not be empty"
    assert "\nkept</textarea>" in empty.text
    client.post("/clients", data={"name": "Contoso", "csrf_token": token})
    other = client.post("/clients", data={"name": "Initech", "csrf_token": token})
    assert other.status_code == 200
    initech = re.search(
        r'href="/clients/([0-9a-f-]{36})/edit" aria-label="Edit Initech"', other.text
    )
    assert initech
    clash = client.post(
        f"/clients/{initech.group(1)}/edit", data={"name": "Contoso", "csrf_token": token}
    )
    assert clash.status_code == 409
    assert alert(clash) == "A client named “Contoso” already exists."


def test_user_text_is_escaped(client: TestClient, tenant: TenantFixture) -> None:
    token = log_in(client, tenant.operator.email)
    name = '<script>alert("x")</script>'
    page = client.post("/clients", data={"name": name, "notes": "<b>bold</b>", "csrf_token": token})
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text


def test_readonly_users_cannot_write_or_administer(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.readonly.email)
    clients_page = client.get("/clients")
    # The list's own filter and page-size forms are GETs to /clients; no form posts there.
    assert '<form method="post" action="/clients"' not in clients_page.text
    assert 'href="/users"' not in clients_page.text
    refused = client.post("/clients", data={"name": "Contoso", "csrf_token": token})
    assert refused.status_code == 403
    users_page = client.get("/users")
    assert users_page.status_code == 403
    assert "Not allowed" in users_page.text


def test_admin_manages_users(client: TestClient, tenant: TenantFixture) -> None:
    token = log_in(client, tenant.admin.email)
    new = {
        "email": "new@acme-msp.test",
        "display_name": "Nia",
        "role": "operator",
        "password": "long enough password",
        "csrf_token": token,
    }
    created = client.post("/users", data=new)
    assert created.status_code == 200
    assert "User new@acme-msp.test created as operator." in created.text
    duplicate = client.post("/users", data=new)
    assert duplicate.status_code == 409
    assert "new@acme-msp.test" in duplicate.text
    # The password is not echoed back into the page.
    assert "long enough password" not in duplicate.text
    short = client.post("/users", data={**new, "email": "b@acme-msp.test", "password": "short"})
    assert short.status_code == 422
    bad_role = client.post("/users", data={**new, "email": "c@acme-msp.test", "role": "root"})
    assert bad_role.status_code == 422

    me = client.post(
        f"/users/{tenant.admin.user_id}", data={"role": "readonly", "csrf_token": token}
    )
    assert me.status_code == 409
    assert "cannot demote or disable yourself" in alert(me)

    op = tenant.operator.user_id
    promoted = client.post(f"/users/{op}", data={"role": "admin", "csrf_token": token})
    assert "User operator@acme-msp.test is now admin." in promoted.text
    disabled = client.post(f"/users/{op}", data={"disabled": "true", "csrf_token": token})
    assert "User operator@acme-msp.test is disabled." in disabled.text
    assert (
        client.post(
            f"/users/{uuid.uuid4()}", data={"disabled": "true", "csrf_token": token}
        ).status_code
        == 404
    )

    # A disabled user cannot log in.
    client.cookies.clear()
    assert post_login(client, tenant.operator.email).status_code == 401


def test_logout_ends_the_session_on_the_server(client: TestClient, tenant: TenantFixture) -> None:
    post_login(client, tenant.admin.email)
    stolen = client.cookies["fw_session"]
    token = csrf_of(client.get("/clients"))
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert 'fw_session=""' in out.headers.get("set-cookie", "")
    # Even a copy of the cookie taken before logging out no longer works.
    client.cookies.set("fw_session", stolen)
    assert client.get("/clients", follow_redirects=False).status_code == 303


def test_next_page_link_walks_the_clients(client: TestClient, tenant: TenantFixture) -> None:
    h = tenant.admin.headers
    names = [f"Client {i:02d}" for i in range(DEFAULT_LIMIT + 1)]
    for name in names:
        assert client.post("/api/v1/clients", json={"name": name}, headers=h).status_code == 201
    log_in(client, tenant.readonly.email)
    first = client.get("/clients")
    link = re.search(r'href="(/clients\?cursor=[^"]+)" rel="next">Next page<', first.text)
    assert link, "the first page has no Next page link"
    second = client.get(html.unescape(link.group(1)))
    assert second.status_code == 200
    # Each name links to the client's page.
    shown = re.findall(
        r'<td class="name"><a href="/clients/[0-9a-f-]{36}">([^<]+)</a></td>',
        first.text + second.text,
    )
    assert sorted(shown) == names
    assert 'href="/clients">First page<' in second.text
    assert "Next page" not in second.text
    assert client.get("/clients", params={"cursor": "garbage"}).status_code == 422
