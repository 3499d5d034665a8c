"""Who may call what: one row per route the app serves, one outcome per kind of caller.

tests/verify/test_authorization_matrix.py checks that every route the app serves
has a row here (and every row a route), then calls each route as each caller
and compares. Outcomes: ok, own, login, or a status code (see that module).
"""

from __future__ import annotations

CALLERS = ("admin", "operator", "readonly", "other", "agent", "anonymous")

# Columns: method, path, then admin, operator, readonly, other, agent, anonymous.
EXPECTED_TABLE = """
GET    /api/v1/clients                                                  ok  ok  ok  own 401 401
POST   /api/v1/clients                                                  ok  ok  403 own 401 401
GET    /api/v1/clients/{client_id}                                      ok  ok  ok  404 401 401
PATCH  /api/v1/clients/{client_id}                                      ok  ok  403 404 401 401
DELETE /api/v1/clients/{client_id}                                      ok  ok  403 404 401 401
GET    /api/v1/clients/{client_id}/sites                                ok  ok  ok  404 401 401
POST   /api/v1/clients/{client_id}/sites                                ok  ok  403 404 401 401
GET    /api/v1/clients/{client_id}/sites/{site_id}                      ok  ok  ok  404 401 401
PATCH  /api/v1/clients/{client_id}/sites/{site_id}                      ok  ok  403 404 401 401
DELETE /api/v1/clients/{client_id}/sites/{site_id}                      ok  ok  403 404 401 401
GET    /api/v1/users                                                    ok  403 403 own 401 401
POST   /api/v1/users                                                    ok  403 403 own 401 401
GET    /api/v1/users/{user_id}                                          ok  403 403 404 401 401
PATCH  /api/v1/users/{user_id}                                          ok  403 403 404 401 401
DELETE /api/v1/users/{user_id}                                          ok  403 403 404 401 401
GET    /api/v1/api-keys                                                 ok  ok  ok  own 401 401
POST   /api/v1/api-keys                                                 ok  ok  403 own 401 401
DELETE /api/v1/api-keys/{key_id}                                        ok  ok  403 404 401 401
GET    /api/v1/me                                                       ok  ok  ok  own 401 401
PATCH  /api/v1/me                                                       ok  ok  ok  own 401 401
GET    /api/v1/search                                                   ok  ok  ok  own 401 401
GET    /api/v1/audit-log                                                ok  403 403 own 401 401
GET    /api/v1/integrations                                             ok  ok  ok  own 401 401
POST   /api/v1/integrations                                             ok  403 403 own 401 401
GET    /api/v1/integrations/{integration_id}                            ok  ok  ok  404 401 401
PATCH  /api/v1/integrations/{integration_id}                            ok  403 403 404 401 401
DELETE /api/v1/integrations/{integration_id}                            ok  403 403 404 401 401
POST   /api/v1/integrations/{integration_id}/rotate-secret              ok  403 403 404 401 401
GET    /api/v1/integrations/{integration_id}/mappings                   ok  ok  ok  404 401 401
POST   /api/v1/integrations/{integration_id}/mappings                   ok  403 403 404 401 401
DELETE /api/v1/integrations/{integration_id}/mappings/{mapping_id}      ok  403 403 404 401 401
POST   /api/v1/integrations/{integration_id}/mappings/{mapping_id}/reprocess  ok ok 403 404 401 401
GET    /api/v1/integrations/{integration_id}/assets                     ok  ok  ok  404 401 401
PATCH  /api/v1/integrations/{integration_id}/assets/{asset_id}          ok  ok  403 404 401 401
GET    /api/v1/integrations/{integration_id}/dead-letters               ok  ok  ok  404 401 401
POST   /api/v1/integrations/{integration_id}/dead-letters/{letter_id}/replay  ok ok 403 404 401 401
GET    /api/v1/webhook-subscriptions                                    ok  403 403 own 401 401
POST   /api/v1/webhook-subscriptions                                    ok  403 403 own 401 401
GET    /api/v1/webhook-subscriptions/{subscription_id}                  ok  403 403 404 401 401
PATCH  /api/v1/webhook-subscriptions/{subscription_id}                  ok  403 403 404 401 401
DELETE /api/v1/webhook-subscriptions/{subscription_id}                  ok  403 403 404 401 401
POST   /api/v1/webhook-subscriptions/{subscription_id}/rotate-secret    ok  403 403 404 401 401
GET    /api/v1/webhook-subscriptions/{subscription_id}/deliveries       ok  403 403 404 401 401
POST   /api/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/replay  ok 403 403 404 401 401
POST   /api/v1/integrations/{integration_id}/sync                       ok  ok  403 404 401 401
GET    /api/v1/integrations/{integration_id}/sync-runs                  ok  ok  ok  404 401 401
GET    /api/v1/integrations/{integration_id}/sync-runs/{run_id}         ok  ok  ok  404 401 401
GET    /api/v1/boards                                                   ok  ok  ok  own 401 401
POST   /api/v1/boards                                                   ok  403 403 own 401 401
GET    /api/v1/boards/{board_id}                                        ok  ok  ok  404 401 401
PATCH  /api/v1/boards/{board_id}                                        ok  403 403 404 401 401
DELETE /api/v1/boards/{board_id}                                        ok  403 403 404 401 401
GET    /api/v1/boards/{board_id}/statuses                               ok  ok  ok  404 401 401
POST   /api/v1/boards/{board_id}/statuses                               ok  403 403 404 401 401
GET    /api/v1/boards/{board_id}/statuses/{status_id}                   ok  ok  ok  404 401 401
PATCH  /api/v1/boards/{board_id}/statuses/{status_id}                   ok  403 403 404 401 401
DELETE /api/v1/boards/{board_id}/statuses/{status_id}                   ok  403 403 404 401 401
GET    /api/v1/priorities                                               ok  ok  ok  own 401 401
POST   /api/v1/priorities                                               ok  403 403 own 401 401
GET    /api/v1/priorities/{priority_id}                                 ok  ok  ok  404 401 401
PATCH  /api/v1/priorities/{priority_id}                                 ok  403 403 404 401 401
DELETE /api/v1/priorities/{priority_id}                                 ok  403 403 404 401 401
GET    /api/v1/tickets                                                  ok  ok  ok  own 401 401
POST   /api/v1/tickets                                                  ok  ok  403 own 401 401
GET    /api/v1/tickets/{ticket_id}                                      ok  ok  ok  404 401 401
PATCH  /api/v1/tickets/{ticket_id}                                      ok  ok  403 404 401 401
GET    /api/v1/tickets/{ticket_id}/comments                             ok  ok  ok  404 401 401
POST   /api/v1/tickets/{ticket_id}/comments                             ok  ok  403 404 401 401
GET    /api/v1/tickets/{ticket_id}/time-entries                         ok  ok  ok  404 401 401
POST   /api/v1/tickets/{ticket_id}/time-entries                         ok  ok  403 404 401 401
GET    /api/v1/tenant/settings                                          ok  ok  ok  own 401 401
PATCH  /api/v1/tenant/settings                                          ok  403 403 own 401 401
GET    /api/v1/alert-rules                                              ok  ok  ok  own 401 401
POST   /api/v1/alert-rules                                              ok  403 403 own 401 401
POST   /api/v1/alert-rules/reorder                                      ok  403 403 422 401 401
POST   /api/v1/alert-rules/test                                         ok  ok  ok  422 401 401
GET    /api/v1/alert-rules/{rule_id}                                    ok  ok  ok  404 401 401
PATCH  /api/v1/alert-rules/{rule_id}                                    ok  403 403 404 401 401
DELETE /api/v1/alert-rules/{rule_id}                                    ok  403 403 404 401 401
GET    /api/v1/maintenance-windows                                      ok  ok  ok  own 401 401
POST   /api/v1/maintenance-windows                                      ok  403 403 own 401 401
GET    /api/v1/maintenance-windows/{window_id}                          ok  ok  ok  404 401 401
GET    /api/v1/maintenance-windows/{window_id}/active                   ok  ok  ok  404 401 401
PATCH  /api/v1/maintenance-windows/{window_id}                          ok  403 403 404 401 401
DELETE /api/v1/maintenance-windows/{window_id}                          ok  403 403 404 401 401
GET    /api/v1/alerts                                                   ok  ok  ok  own 401 401
GET    /api/v1/alerts/{alert_id}                                        ok  ok  ok  404 401 401
GET    /api/v1/alerts/triage                                            ok  ok  ok  own 401 401
POST   /api/v1/alerts/bulk                                              ok  ok  403 own 401 401
POST   /api/v1/alerts/{alert_id}/acknowledge                            ok  ok  403 404 401 401
POST   /api/v1/alerts/{alert_id}/resolve                                ok  ok  403 404 401 401
POST   /api/v1/alerts/{alert_id}/ticket                                 ok  ok  403 404 401 401
GET    /api/v1/alerts/{alert_id}/outbound                               ok  ok  ok  404 401 401
GET    /api/v1/assets/{asset_id}/alerts                                 ok  ok  ok  404 401 401
GET    /api/v1/enrollment-tokens                                        ok  ok  ok  own 401 401
POST   /api/v1/enrollment-tokens                                        ok  403 403 422 401 401
GET    /api/v1/enrollment-tokens/{token_id}                             ok  ok  ok  404 401 401
POST   /api/v1/enrollment-tokens/{token_id}/revoke                      ok  403 403 404 401 401
GET    /api/v1/agents                                                   ok  ok  ok  own 401 401
GET    /api/v1/agents/{agent_id}                                        ok  ok  ok  404 401 401
POST   /api/v1/agents/{agent_id}/revoke                                 ok  403 403 404 401 401
GET    /api/v1/agents/{agent_id}/eventlog                               ok  ok  403 404 401 401
GET    /api/v1/timeline                                                 ok  ok  ok  404 401 401
GET    /api/v1/event-log-watches                                        ok  ok  ok  own 401 401
POST   /api/v1/event-log-watches                                        ok  403 403 422 401 401
GET    /api/v1/event-log-watches/{watch_id}                             ok  ok  ok  404 401 401
PATCH  /api/v1/event-log-watches/{watch_id}                             ok  403 403 404 401 401
DELETE /api/v1/event-log-watches/{watch_id}                             ok  403 403 404 401 401
GET    /api/v1/notifications                                            ok  ok  ok  own 401 401
GET    /api/v1/notifications/unread-count                               ok  ok  ok  own 401 401
POST   /api/v1/notifications/read-all                                   ok  ok  ok  own 401 401
GET    /api/v1/notifications/{notification_id}                          ok  404 404 404 401 401
POST   /api/v1/notifications/{notification_id}/read                     ok  404 404 404 401 401
GET    /api/v1/users/me/notification-preferences                        ok  ok  ok  own 401 401
PUT    /api/v1/users/me/notification-preferences                        ok  ok  ok  own 401 401

POST   /api/v1/webhooks/{integration_id}                                401 401 401 401 401 401
POST   /api/v1/agent/enroll                                             ok  ok  ok  ok  ok  ok
POST   /api/v1/agent/events                                             401 401 401 401 ok  401
POST   /api/v1/agent/matches                                            401 401 401 401 ok  401
WS     /api/v1/agent/ws                                                 403 403 403 403 ok  403

GET    /openapi.json                                                    ok  ok  ok  ok  ok  ok
GET    /docs                                                            ok  ok  ok  ok  ok  ok
GET    /docs/oauth2-redirect                                            ok  ok  ok  ok  ok  ok
GET    /healthz                                                         ok  ok  ok  ok  ok  ok
GET    /metrics                                                         ok  ok  ok  ok  ok  ok
GET    /static/{path}                                                   ok  ok  ok  ok  ok  ok

GET    /                                                                ok  ok  ok  own login login
GET    /login                                                           ok  ok  ok  ok  ok  ok
POST   /login                                                           ok  ok  ok  ok  ok  ok
POST   /logout                                                          ok  ok  ok  ok  login login
GET    /clients                                                         ok  ok  ok  own login login
POST   /clients                                                         ok  ok  403 own login login
# A client's own page: sites are written with WRITE, tokens minted and revoked by admins.
GET    /clients/{client_id}                                             ok  ok  ok  404 login login
POST   /clients/{client_id}/name                                        ok  ok  403 404 login login
POST   /clients/{client_id}/sites                                       ok  ok  403 404 login login
POST   /clients/{client_id}/sites/{site_id}/name                        ok  ok  403 404 login login
GET    /clients/{client_id}/sites/{site_id}/delete                      ok  ok  403 404 login login
POST   /clients/{client_id}/sites/{site_id}/delete                      ok  ok  403 404 login login
POST   /clients/{client_id}/sites/{site_id}/tokens                      ok  403 403 404 login login
POST   /clients/{client_id}/sites/{site_id}/tokens/{token_id}/revoke    ok  403 403 404 login login
GET    /clients/{client_id}/edit                                        ok  ok  403 404 login login
POST   /clients/{client_id}/edit                                        ok  ok  403 404 login login
GET    /clients/{client_id}/delete                                      ok  ok  403 404 login login
POST   /clients/{client_id}/delete                                      ok  ok  403 404 login login
GET    /users                                                           ok  403 403 own login login
POST   /users                                                           ok  403 403 own login login
POST   /users/{user_id}                                                 ok  403 403 404 login login
GET    /alerts                                                          ok  ok  ok  own login login
GET    /alerts/{alert_id}                                               ok  ok  ok  404 login login
POST   /alerts/bulk                                                     ok  ok  403 own login login
POST   /alerts/{alert_id}/acknowledge                                   ok  ok  403 404 login login
POST   /alerts/{alert_id}/resolve                                       ok  ok  403 404 login login
POST   /alerts/{alert_id}/ticket                                        ok  ok  403 404 login login
GET    /triage                                                          ok  ok  ok  own login login
# Mapping an organisation is an admin's setting; the form names the owner's integration.
POST   /triage/map                                                      ok  403 403 404 login login
GET    /assets/{asset_id}                                               ok  ok  ok  404 login login
GET    /tickets                                                         ok  ok  ok  own login login
GET    /tickets/{ticket_id}                                             ok  ok  ok  404 login login
POST   /tickets/{ticket_id}/comments                                    ok  ok  403 404 login login
POST   /tickets/{ticket_id}/time-entries                                ok  ok  403 404 login login
POST   /tickets/{ticket_id}/status                                      ok  ok  403 404 login login
POST   /tickets/{ticket_id}/assign                                    ok  ok  403 404 login login
POST   /tickets/{ticket_id}/edit                                      ok  ok  403 404 login login
GET    /rules                                                           ok  ok  ok  own login login
GET    /rules/new                                                       ok  403 403 own login login
POST   /rules/new                                                       ok  403 403 own login login
GET    /rules/{rule_id}/edit                                            ok  403 403 404 login login
POST   /rules/{rule_id}/edit                                            ok  403 403 404 login login
# The rule editor's live check of a pattern or template: stores and shows nothing of a tenant.
POST   /rules/check/{field}                                             ok  ok  ok  ok  login login
POST   /rules/{rule_id}/move                                            ok  403 403 404 login login
GET    /rules/{rule_id}/delete                                          ok  403 403 404 login login
POST   /rules/{rule_id}/delete                                          ok  403 403 404 login login
POST   /rules/test                                                      ok  ok  ok  422 login login
GET    /settings                                                        ok  ok  ok  own login login
POST   /settings                                                        ok  403 403 own login login
GET    /profile                                                         ok  ok  ok  own login login
POST   /profile                                                         ok  ok  ok  own login login
GET    /search                                                          ok  ok  ok  own login login
GET    /maintenance                                                     ok  ok  ok  own login login
POST   /maintenance                                                     ok  403 403 own login login
GET    /maintenance/{window_id}/edit                                    ok  403 403 404 login login
POST   /maintenance/{window_id}/edit                                    ok  403 403 404 login login
GET    /maintenance/{window_id}/delete                                  ok  403 403 404 login login
POST   /maintenance/{window_id}/delete                                  ok  403 403 404 login login
POST   /maintenance/{window_id}/end-now                                 ok  403 403 404 login login
POST   /maintenance/{window_id}/extend                                  ok  403 403 404 login login
GET    /integrations                                                    ok  ok  ok  own login login
POST   /integrations                                                    ok  403 403 own login login
GET    /integrations/{integration_id}                                   ok  ok  ok  404 login login
POST   /integrations/{integration_id}/rotate-secret                     ok  403 403 404 login login
POST   /integrations/{integration_id}/mappings                          ok  403 403 404 login login
POST   /integrations/{integration_id}/mappings/{mapping_id}/delete      ok  403 403 404 login login
POST   /integrations/{integration_id}/assets/{asset_id}                 ok  ok  403 404 login login
POST   /integrations/{integration_id}/sync                              ok  ok  403 404 login login
POST   /integrations/{integration_id}/api-access                        ok  403 403 404 login login
POST   /integrations/{integration_id}/dead-letters/{letter_id}/replay   ok  ok  403 404 login login
POST   /integrations/{integration_id}/enabled                           ok  403 403 404 login login
GET    /integrations/{integration_id}/edit                              ok  403 403 404 login login
POST   /integrations/{integration_id}/edit                              ok  403 403 404 login login
GET    /integrations/{integration_id}/delete                            ok  403 403 404 login login
POST   /integrations/{integration_id}/delete                            ok  403 403 404 login login
GET    /webhook-subscriptions                                           ok  403 403 own login login
POST   /webhook-subscriptions                                           ok  403 403 own login login
GET    /webhook-subscriptions/{subscription_id}                         ok  403 403 404 login login
POST   /webhook-subscriptions/{subscription_id}/enabled                 ok  403 403 404 login login
POST   /webhook-subscriptions/{subscription_id}/rotate-secret           ok  403 403 404 login login
GET    /webhook-subscriptions/{subscription_id}/delete                  ok  403 403 404 login login
POST   /webhook-subscriptions/{subscription_id}/delete                  ok  403 403 404 login login
POST   /webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/replay  ok 403 403 404 login login
GET    /agents                                                          ok  ok  ok  own login login
POST   /agents/tokens                                                   ok  403 403 422 login login
POST   /agents/tokens/{token_id}/revoke                                 ok  403 403 404 login login
GET    /agents/{agent_id}                                               ok  ok  ok  404 login login
GET    /agents/{agent_id}/revoke                                        ok  403 403 404 login login
POST   /agents/{agent_id}/revoke                                        ok  403 403 404 login login
# The events tab: readonly sees it with a note that querying the machine needs write access.
GET    /agents/{agent_id}/events                                        ok  ok  ok  404 login login
POST   /agents/{agent_id}/events                                        ok  ok  ok  404 login login
GET    /agents/{agent_id}/timeline                                      ok  ok  ok  404 login login
GET    /timeline                                                        ok  ok  ok  own login login
GET    /watches                                                         ok  ok  ok  own login login
POST   /watches                                                         ok  403 403 own login login
GET    /watches/{watch_id}/edit                                         ok  403 403 404 login login
POST   /watches/{watch_id}/edit                                         ok  403 403 404 login login
GET    /watches/{watch_id}/delete                                       ok  403 403 404 login login
POST   /watches/{watch_id}/delete                                       ok  403 403 404 login login
GET    /notifications                                                   ok  ok  ok  own login login
POST   /notifications/read-all                                          ok  ok  ok  own login login
POST   /notifications/{notification_id}/read                            ok  404 404 404 login login
GET    /notifications/preferences                                       ok  ok  ok  own login login
POST   /notifications/preferences                                       ok  ok  ok  own login login
"""  # noqa: E501 (a row's path may be long; the table stays one row a line)

Key = tuple[str, str]  # (method, path template); WebSocket routes have the method "WS"


def parse_table(table: str) -> dict[Key, dict[str, str]]:
    expected: dict[Key, dict[str, str]] = {}
    for line in table.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        method, path, *outcomes = line.split()
        assert len(outcomes) == len(CALLERS), f"{method} {path}: one outcome per caller"
        assert (method, path) not in expected, f"{method} {path} has two rows"
        expected[(method, path)] = dict(zip(CALLERS, outcomes, strict=True))
    return expected


EXPECTED = parse_table(EXPECTED_TABLE)
