"""App.allows_redirect_uri: exact match (RFC 9700 §4.1.3), any port on native loopback
(RFC 8252 §7.3), and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import Platform


def _app(platform: Platform, *uris: str) -> App:
    return App(
        client_id="cid",
        name="app",
        platform=platform,
        redirect_uris=uris,
        scopes=("monitoring",),
        grant_types=("authorization_code",),
    )


NATIVE = _app(
    Platform.NATIVE,
    "http://127.0.0.1/callback",
    "http://[::1]/cb",
    "http://127.0.0.1:8400/fixed",
    "com.example.app:/oauth2redirect",
)
WEB = _app(Platform.WEB, "https://client.example/callback", "http://127.0.0.1:8000/callback")


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("http://127.0.0.1/callback", True),
        ("http://127.0.0.1:49152/callback", True),
        ("http://127.0.0.1:1/callback", True),
        ("http://[::1]:65535/cb", True),
        ("http://127.0.0.1:9999/fixed", True),
        ("com.example.app:/oauth2redirect", True),
        ("http://127.0.0.1:49152/callback/", False),
        ("http://127.0.0.1:49152/Callback", False),
        ("http://127.0.0.1:49152/callback?x=1", False),
        ("http://127.0.0.2:49152/callback", False),
        ("http://localhost:49152/callback", False),
        ("https://127.0.0.1:49152/callback", False),
        ("http://[::1]:49152/callback", False),
        ("http://127.0.0.1:99999/callback", False),
        ("http://127.0.0.1/fixed", True),  # RFC 8252 §7.3: any port, none included
        ("com.example.app:/other", False),
        ("http://evil@127.0.0.1:49152/callback", False),
        ("http://127.0.0.1:49152/callback#frag", False),
    ],
    ids=[
        "registered",
        "any-port",
        "port-1",
        "ipv6-any-port",
        "registered-with-port-any-port",
        "custom-scheme-exact",
        "trailing-slash",
        "path-case",
        "extra-query",
        "other-loopback-address",
        "localhost-name",
        "https-scheme",
        "ipv6-other-path",
        "port-out-of-range",
        "registered-port-dropped",
        "custom-scheme-other-path",
        "userinfo",
        "fragment",
    ],
)
def test_a_native_app_matches_its_loopback_uris_on_any_port_and_nothing_else(
    uri: str, allowed: bool
) -> None:
    assert NATIVE.allows_redirect_uri(uri) is allowed


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://client.example/callback", True),
        ("http://127.0.0.1:8000/callback", True),
        ("http://127.0.0.1:8001/callback", False),
        ("http://127.0.0.1/callback", False),
        ("https://client.example/callback/", False),
        ("https://CLIENT.example/callback", False),
        ("https://client.example:443/callback", False),
        ("https://client.example/callback?", False),
    ],
    ids=[
        "exact",
        "loopback-exact",
        "loopback-other-port",
        "loopback-no-port",
        "trailing-slash",
        "host-case",
        "explicit-default-port",
        "empty-query",
    ],
)
def test_other_platforms_match_a_registered_uri_exactly(uri: str, allowed: bool) -> None:
    assert WEB.allows_redirect_uri(uri) is allowed


# -- property: only the port may differ --------------------------------------------------------

_REGISTERED = "http://127.0.0.1/callback"
_PROPERTY_APP = _app(Platform.NATIVE, _REGISTERED)


_parts = st.tuples(
    st.sampled_from(["http", "https"]),
    st.sampled_from(["", "user@", "u:p@"]),
    st.sampled_from(["127.0.0.1", "127.0.0.2", "[::1]", "localhost", "example.com"]),
    st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")),
    st.sampled_from(["/callback", "/callback/", "/Callback", "/callback/x", "/", ""]),
    st.sampled_from(["", "?", "?a=1"]),
    st.sampled_from(["", "#", "#x"]),
)


@settings(max_examples=200, deadline=None, database=None)
@given(_parts)
def test_redirect_uri_matching_never_accepts_a_uri_that_differs_outside_the_port(
    parts: tuple[str, str, str, str, str, str, str],
) -> None:
    scheme, userinfo, host, port, path, query, fragment = parts
    uri = f"{scheme}://{userinfo}{host}{port}{path}{query}{fragment}"
    if _PROPERTY_APP.allows_redirect_uri(uri):
        assert f"{scheme}://{userinfo}{host}{path}{query}{fragment}" == _REGISTERED, uri


@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(1, 65535))
def test_every_port_of_a_registered_native_loopback_uri_is_accepted(port: int) -> None:
    assert _PROPERTY_APP.allows_redirect_uri(f"http://127.0.0.1:{port}/callback")
