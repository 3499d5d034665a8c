"""The global search for any text a person can type, on both engines: an answer
(200) whose hits are exactly the names holding the query as a case-insensitive
substring, with `%`, `_` and `\\` literal; or a 422 naming `q`; never a 5xx."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TenantFixture
from tests.support.pipeline import make_client
from tests.verify.ledger import Ledger, size

NAMES = [
    "100% Uptime",
    "100 percent",
    "a_b Corp",
    "axb Corp",
    "back\\slash",
    "backslash",
    "MiXeD Case",
    "it's quoted",
    "Ünïcode GmbH",
]
# Characters of the names and the pattern's own specials, then anything a URL can
# carry (UTF-8: a lone surrogate cannot even be sent).
QUERIES = st.text(st.sampled_from(list("%_\\ab1 0'xXüÜ*?[]")), max_size=6) | st.text(
    st.characters(codec="utf-8", exclude_categories=()), max_size=8
)


def expected(query: str) -> list[str]:
    return sorted(name for name in NAMES if query.lower() in name.lower())


def test_any_query_finds_exactly_the_names_holding_it(
    ledger: Ledger, client: TestClient, tenant: TenantFixture
) -> None:
    for name in NAMES:
        make_client(client, tenant, name)
    line = ledger.line("search queries")
    counts = {"load": 0, "bad_inputs": 0, "server_errors": 0, "leaks": 0}

    @settings(
        max_examples=size(60, 600),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(raw=QUERIES)
    def check(raw: str) -> None:
        answer = client.get(
            "/api/v1/search",
            params={"q": raw, "kind": "clients", "limit": 100},
            headers=tenant.readonly.headers,
        )
        counts["load"] += 1
        if answer.status_code >= 500:
            counts["server_errors"] += 1
        if answer.status_code == 422:
            counts["bad_inputs"] += 1
            assert answer.json()["error"]["field"] == "q", answer.text
            return
        assert answer.status_code == 200, (raw, answer.text)
        query = answer.json()["q"]
        assert query == " ".join(raw.split())
        found = sorted(hit["label"] for hit in answer.json()["kinds"][0]["items"])
        # SQLite folds the case of ASCII letters only: Unicode queries need only stay
        # within the names that hold them in some case.
        if query.isascii():
            assert found == expected(query), raw
        else:
            assert set(found) <= {n for n in NAMES if query.casefold() in n.casefold()}, raw
            assert set(expected(query)) - {n for n in NAMES if not n.isascii()} <= set(found)

    try:
        check()
    finally:
        line.add(**counts)
    assert counts["server_errors"] == 0
