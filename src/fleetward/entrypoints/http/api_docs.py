"""/docs: Swagger UI from the package's own files, so it works with no internet access.

FastAPI's default page loads Swagger UI from a CDN; an MSP's server often cannot
reach one. The assets are vendored under web/static/swagger/ (docs/adr/0001).
The page's one inline script (Swagger UI's start-up call) runs under a nonce, so
the Content-Security-Policy can still allow scripts from this origin only.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS = "/static/swagger"


def docs_policy(nonce: str) -> str:
    # Swagger UI's stylesheet draws its icons from data: URIs; its React
    # components set styles through the DOM, which style-src does not restrict.
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )


def docs_page(openapi_url: str, title: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
        oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
    )
    html = bytes(page.body).decode()
    # The start-up script is the page's only inline one; a FastAPI that wrote it
    # differently would leave the page blank, so say so rather than serve that.
    if html.count("<script>") != 1:
        raise RuntimeError("Swagger UI's page has changed shape: its inline script not found")
    html = html.replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": docs_policy(nonce),
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )


def install(app: FastAPI) -> None:
    """Serve /docs (the app is made with docs_url=None, so FastAPI's CDN page is not)."""
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui(_: Request) -> HTMLResponse:
        return docs_page(openapi_url, app.title)

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        # Swagger UI's OAuth2 pop-up lands here; the API's keys are bearer
        # tokens, so it is kept only for a client that asks for it.
        return get_swagger_ui_oauth2_redirect_html()

    # Plain routes (GET and HEAD), as FastAPI's own docs routes are.
    app.add_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, methods=["GET"], include_in_schema=False)
