"""Region hosts, base URL override and endpoint overrides."""

from __future__ import annotations

import pytest

from ninja_oauth.client import Endpoints, NinjaOAuth, Region


@pytest.mark.parametrize(
    ("region", "host"),
    [
        (Region.APP, "https://app.ninjarmm.com"),
        (Region.EU, "https://eu.ninjarmm.com"),
        (Region.OC, "https://oc.ninjarmm.com"),
        (Region.CA, "https://ca.ninjarmm.com"),
        (Region.US2, "https://us2.ninjarmm.com"),
    ],
    ids=["app", "eu", "oc", "ca", "us2"],
)
def test_each_region_maps_to_its_ninjarmm_host_and_ninjaone_paths(
    region: Region, host: str
) -> None:
    auth = NinjaOAuth.client_credentials(region=region, client_id="id", client_secret="secret")

    assert auth.api_base_url == host
    assert auth.endpoints == Endpoints(
        base_url=host,
        token_url=f"{host}/ws/oauth/token",
        authorization_url=f"{host}/ws/oauth/authorize",
        revocation_url=f"{host}/ws/oauth/revoke",
    )


def test_a_region_may_be_named_by_its_string_in_any_case() -> None:
    assert Endpoints.resolve(region="US2").base_url == "https://us2.ninjarmm.com"
    assert Endpoints.resolve(region="eu").base_url == "https://eu.ninjarmm.com"


def test_a_base_url_replaces_the_region_and_loses_its_trailing_slash() -> None:
    auth = NinjaOAuth.client_credentials(
        base_url="http://127.0.0.1:8080/", client_id="id", client_secret="secret"
    )

    assert auth.api_base_url == "http://127.0.0.1:8080"
    assert auth.endpoints.token_url == "http://127.0.0.1:8080/ws/oauth/token"


def test_endpoint_urls_can_be_overridden_for_any_oauth_server() -> None:
    endpoints = Endpoints.resolve(
        base_url="https://api.example.com",
        token_url="https://login.example.com/oauth2/token",
        authorization_url="https://login.example.com/oauth2/authorize",
        revocation_url="https://login.example.com/oauth2/revoke",
    )

    assert endpoints == Endpoints(
        base_url="https://api.example.com",
        token_url="https://login.example.com/oauth2/token",
        authorization_url="https://login.example.com/oauth2/authorize",
        revocation_url="https://login.example.com/oauth2/revoke",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "give exactly one of region or base_url"),
        (
            {"region": "eu", "base_url": "https://x.example"},
            "give exactly one of region or base_url",
        ),
        ({"region": "mars"}, "unknown region 'mars': choose one of app, eu, oc, ca, us2"),
        (
            {"base_url": "ftp://x.example"},
            "base_url must be an absolute http(s) URL, got 'ftp://x.example'",
        ),
        ({"base_url": "https://x.example/?a=1"}, "base_url must not have a query or fragment"),
        (
            {"base_url": "http://ninja.example"},
            "base_url must use https (plain http is allowed only on loopback hosts)",
        ),
        (
            {"base_url": "https://x.example", "token_url": "http://x.example/token"},
            "token_url must use https (plain http is allowed only on loopback hosts)",
        ),
        (
            # Resolved as port 34463 (99999 modulo 65536), it would get the client secret.
            {"base_url": "http://127.0.0.1:99999"},
            "base_url has an invalid port: 'http://127.0.0.1:99999'",
        ),
        (
            {"base_url": "https://x.example:abc"},
            "base_url has an invalid port: 'https://x.example:abc'",
        ),
        (
            {"base_url": "https://me:hunter2@x.example"},
            "base_url must not carry user:password@ credentials",
        ),
    ],
    ids=[
        "neither",
        "both",
        "unknown-region",
        "not-http",
        "query",
        "http-remote",
        "http-token-url",
        "port-out-of-range",
        "port-not-a-number",
        "credentials-in-url",
    ],
)
def test_bad_server_settings_are_refused_with_a_message_naming_them(
    arguments: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        Endpoints.resolve(**arguments)

    assert str(raised.value) == message


@pytest.mark.parametrize("url", ["http://localhost:8080", "http://[::1]:8080", "http://127.0.0.2"])
def test_plain_http_is_fine_on_loopback_hosts(url: str) -> None:
    assert Endpoints.resolve(base_url=url).base_url == url


def test_plain_http_elsewhere_needs_an_explicit_opt_in() -> None:
    endpoints = Endpoints.resolve(base_url="http://ninja:8080", allow_insecure_http=True)

    assert endpoints.token_url == "http://ninja:8080/ws/oauth/token"


def test_client_credentials_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="the client credentials grant needs a client_secret"):
        NinjaOAuth(client_id="id", region=Region.EU)
