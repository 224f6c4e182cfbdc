"""Issue 12: the strict profile over HTTP, server-wide (NINJA_OAUTH_PROFILE=strict) or for one
app (`apps create --profile strict`): what RFC 9700 advises against is refused with an error
naming the profile and the fix, and the RFC 8414 metadata says what is on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.flows import authorize, pkce_pair, query_of
from tests.support.server import LiveServer, start_server

CB = "https://app.example.com/cb"
SERVER = "this server runs the strict profile"
APP = "this app is registered with the strict profile"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("strict")
    live = start_server(f"sqlite:///{tmp / 'db.sqlite'}", tmp, NINJA_OAUTH_PROFILE="strict")
    try:
        yield live
    finally:
        live.stop()


def _create(server: LiveServer, platform: str, *extra: str) -> dict[str, Any]:
    args = ["apps", "create", "--name", f"Strict {platform}", "--platform", platform]
    if platform != "api_services":
        args += ["--redirect-uri", CB]
    created: dict[str, Any] = json.loads(server.cli(*args, *extra, "--json").stdout)
    return created


def _error(server: LiveServer, params: dict[str, str]) -> dict[str, str]:
    with server.client() as browser:
        response = browser.get("/ws/oauth/authorize", params=params)
    assert response.status_code == 307, response.text
    location = response.headers["location"]
    assert location.startswith(CB + "?")
    query = query_of(location)
    assert query.pop("iss") == server.base_url
    assert query.pop("state") == "s"
    return query


def _params(app: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CB,
        "state": "s",
        **extra,
    }


def test_a_strict_server_says_so_in_its_metadata(strict: LiveServer) -> None:
    with strict.client() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()
    assert meta["ninja_oauth_profile"] == "strict"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]


def test_a_faithful_server_says_so_in_its_metadata(sqlite_server: LiveServer) -> None:
    with sqlite_server.client() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()
    assert meta["ninja_oauth_profile"] == "faithful"
    assert meta["response_types_supported"] == ["code", "token"]
    assert meta["code_challenge_methods_supported"] == ["S256", "plain"]
    assert "implicit" in meta["grant_types_supported"]


def test_a_strict_server_refuses_the_implicit_grant(strict: LiveServer) -> None:
    spa = _create(strict, "spa")
    assert _error(strict, _params(spa, response_type="token")) == {
        "error": "unsupported_response_type",
        "error_description": f"response_type=token (the implicit grant) is off: {SERVER} (RFC "
        "9700 section 2.1.2). Use response_type=code with PKCE (code_challenge_method=S256).",
    }


@pytest.mark.parametrize(
    ("pkce", "description"),
    [
        (
            {},
            f"code_challenge is required: {SERVER} (RFC 9700 section 2.1.1). Send code_challenge "
            "with code_challenge_method=S256.",
        ),
        (
            {"code_challenge_method": "plain"},
            f"code_challenge_method is plain: {SERVER} (RFC 9700 section 2.1.1). Use "
            "code_challenge_method=S256.",
        ),
        (
            {"code_challenge_method": None},
            f"code_challenge_method is missing, which means plain: {SERVER} (RFC 9700 section "
            "2.1.1). Use code_challenge_method=S256.",
        ),
    ],
    ids=["no-pkce", "plain", "no-method"],
)
def test_a_strict_server_refuses_codes_without_s256_pkce(
    strict: LiveServer, pkce: dict[str, str | None], description: str
) -> None:
    web = _create(strict, "web")
    params = _params(web)
    if pkce:
        _, challenge = pkce_pair("plain")
        params["code_challenge"] = challenge
        if pkce["code_challenge_method"] is not None:
            params["code_challenge_method"] = "plain"
    assert _error(strict, params) == {
        "error": "invalid_request",
        "error_description": description,
    }


def test_a_strict_server_refuses_a_client_secret_in_the_authorization_url_and_takes_s256(
    strict: LiveServer,
) -> None:
    web = _create(strict, "web")
    _, challenge = pkce_pair()
    params = _params(
        web,
        code_challenge=challenge,
        code_challenge_method="S256",
        client_secret=web["client_secret"],
    )
    assert _error(strict, params) == {
        "error": "invalid_request",
        "error_description": "Do not send client_secret in the authorization URL: "
        f"{SERVER} (RFC 6749 section 2.3.1). The app authenticates with its secret at the "
        "token endpoint only.",
    }
    # Without the secret in the URL, with PKCE S256, the same app runs the code flow.
    verifier, challenge = pkce_pair()
    params = _params(
        web, code_challenge=challenge, code_challenge_method="S256", scope="monitoring"
    )
    with strict.client() as browser:
        code = query_of(authorize(browser, params, user=strict.user()).headers["location"])["code"]
        response = browser.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CB,
                "code_verifier": verifier,
            },
            auth=(web["client_id"], web["client_secret"]),
        )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "monitoring"


def test_an_app_registered_strict_is_strict_under_a_faithful_server(
    sqlite_server: LiveServer,
) -> None:
    spa = _create(sqlite_server, "spa", "--profile", "strict")
    assert spa["profile"] == "strict"
    shown = json.loads(sqlite_server.cli("apps", "show", spa["client_id"], "--json").stdout)
    assert shown["profile"] == "strict"
    assert _error(sqlite_server, _params(spa, response_type="token")) == {
        "error": "unauthorized_client",
        "error_description": f"response_type=token (the implicit grant) is off: {APP} (RFC "
        "9700 section 2.1.2). Use response_type=code with PKCE (code_challenge_method=S256).",
    }
    _, challenge = pkce_pair("plain")
    assert _error(sqlite_server, _params(spa, code_challenge=challenge))["error_description"] == (
        f"code_challenge_method is missing, which means plain: {APP} (RFC 9700 section 2.1.1). "
        "Use code_challenge_method=S256."
    )


def test_an_app_cannot_loosen_a_strict_server(strict: LiveServer) -> None:
    spa = _create(strict, "spa", "--profile", "faithful")
    assert spa["profile"] == "faithful"
    assert _error(strict, _params(spa, response_type="token"))["error"] == (
        "unsupported_response_type"
    )


def test_apps_create_refuses_an_unknown_profile(sqlite_server: LiveServer) -> None:
    result = sqlite_server.cli(
        "apps",
        "create",
        "--name",
        "X",
        "--platform",
        "api_services",
        "--profile",
        "lenient",
        check=False,
    )
    assert result.returncode == 2
    assert "lenient" in result.stderr


def test_apps_set_profile_tightens_and_releases_an_existing_app(
    sqlite_server: LiveServer,
) -> None:
    spa = _create(sqlite_server, "spa")
    implicit = _params(spa, response_type="token")
    with sqlite_server.client() as browser:
        assert 'name="password"' in browser.get("/ws/oauth/authorize", params=implicit).text

    shown = json.loads(
        sqlite_server.cli("apps", "set-profile", spa["client_id"], "strict", "--json").stdout
    )
    assert shown["profile"] == "strict"
    assert _error(sqlite_server, implicit)["error"] == "unauthorized_client"

    released = sqlite_server.cli("apps", "set-profile", spa["client_id"], "default", "--json")
    assert "profile" not in json.loads(released.stdout)
    with sqlite_server.client() as browser:
        assert 'name="password"' in browser.get("/ws/oauth/authorize", params=implicit).text

    unknown = sqlite_server.cli("apps", "set-profile", spa["client_id"], "lax", check=False)
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "ninja-oauth: unknown profile 'lax': use strict, faithful or default",
    )
    missing = sqlite_server.cli("apps", "set-profile", "no-such-app", "strict", check=False)
    assert missing.returncode == 1 and "No app has the client_id" in missing.stderr


def test_where_the_strict_profile_applies_apps_are_registered_without_the_implicit_grant(
    strict: LiveServer, sqlite_server: LiveServer
) -> None:
    assert "implicit" not in _create(strict, "spa")["grant_types"]
    assert "implicit" not in _create(sqlite_server, "spa", "--profile", "strict")["grant_types"]
    assert "implicit" in _create(sqlite_server, "spa")["grant_types"]
    refused = strict.cli(
        "apps", "create", "--name", "x", "--platform", "spa", "--redirect-uri", CB,
        "--grant", "implicit", check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"ninja-oauth: The implicit grant is off: {SERVER} (RFC 9700 section 2.1.2). Use "
        "authorization_code with PKCE (S256)."
    )
