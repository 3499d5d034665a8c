"""The outbound policy, on real connections: what a tenant-supplied URL may reach."""

from __future__ import annotations

import re

import httpx
import pytest

from fleetward.adapters.outbound import OutboundHttp, OutboundRefused, retry_after_seconds
from fleetward.domain.errors import InvalidInput
from fleetward.domain.forwarding import parse_networks
from fleetward.domain.outbound import check_url, refusal
from tests.support.aio import run_coroutine
from tests.support.receiver import receiver

LOOPBACK = parse_networks("127.0.0.0/8")


async def _get(http: OutboundHttp, url: str) -> int:
    async with http.client() as client:
        return (await client.get(url)).status_code


def test_a_listed_network_is_reached_and_anything_else_private_is_refused() -> None:
    with receiver() as target:
        assert run_coroutine(_get(OutboundHttp(LOOPBACK), target.url + "/x")) == 200
        with pytest.raises(OutboundRefused, match="FLEETWARD_OUTBOUND_ALLOW_CIDRS"):
            run_coroutine(_get(OutboundHttp(()), target.url + "/x"))
        port = target.url.rsplit(":", 1)[1]
        # A name is checked on what it resolves to when connecting.
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
            run_coroutine(_get(OutboundHttp(()), f"http://localhost:{port}/x"))
    assert [r.path for r in target.requests] == ["/x"]


def test_redirects_are_not_followed_into_the_network() -> None:
    with receiver() as target:
        target.answer(302, {"Location": "http://169.254.169.254/latest/meta-data/"})
        assert run_coroutine(_get(OutboundHttp(LOOPBACK), target.url)) == 302
    assert len(target.requests) == 1


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0"],  # noqa: S104,
)
def test_special_addresses_are_refused(address: str) -> None:
    assert refusal(address, ()) is not None
    assert refusal("93.184.216.34", ()) is None


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://example.com/", "http(s)"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("https:///nohost", "no host"),
        ("http://example.com:99999/", "not a URL"),
        ("", "http(s)"),
    ],
)
def test_a_url_of_the_wrong_form_is_refused_when_saved(url: str, complaint: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(complaint)) as raised:
        check_url(url, "url")
    assert raised.value.field == "url"


def test_retry_after_reads_seconds_and_dates() -> None:
    seconds = httpx.Response(429, headers={"Retry-After": "30"})
    date = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    assert retry_after_seconds(seconds) == 30.0
    assert (retry_after_seconds(date) or 0) > 1e9
    assert retry_after_seconds(httpx.Response(500)) is None
